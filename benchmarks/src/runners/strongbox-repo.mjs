// One @strongbox/repository operation on a local-disk repository, as its own process (as the `strongbox`
// command would run it), for repository-bench.ts. The password, when there is one, comes from
// STRONGBOX_BENCH_PASSWORD. Prints one JSON line: what the operation counted and the process's maxRssKiB.
//
//   node strongbox-repo.mjs open <repo>
//   node strongbox-repo.mjs backup <repo> <source> <server> <ignore-json> [reread]
//   node strongbox-repo.mjs restore <repo> <snapshot> <target> [path]   (merge; only <path> when given)
import { backup, openRepository, restoreSnapshot } from "@strongbox/repository";
import { createLocalStorage } from "@strongbox/storage-local";

const [op, root, ...args] = process.argv.slice(2);
const password = process.env.STRONGBOX_BENCH_PASSWORD;
const repo = await openRepository({
  storage: createLocalStorage({ root }),
  ...(password ? { password } : {}),
});
let result = {};
if (op === "backup") {
  const [source, server, ignore, reread] = args;
  const snapshot = await backup(repo, {
    source,
    server,
    ignore: JSON.parse(ignore),
    ...(reread === "reread" ? { rereadAll: true } : {}),
  });
  result = { snapshot: snapshot.id, counts: snapshot.counts };
} else if (op === "restore") {
  const [snapshot, target, path] = args;
  let bytesRead = 0;
  const restored = await restoreSnapshot(repo, snapshot, target, {
    mode: "merge",
    ...(path ? { only: [path] } : {}),
    onRead: (bytes) => {
      bytesRead += bytes;
    },
  });
  result = { restored, bytesRead };
} else if (op !== "open") {
  throw new Error(`strongbox-repo: unknown operation ${op}`);
}
console.log(JSON.stringify({ ...result, maxRssKiB: process.resourceUsage().maxRSS }));
