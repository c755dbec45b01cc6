import { backup, openRepository } from "@strongbox/repository";
import { createLocalStorage } from "@strongbox/storage-local";

const S = "/tmp/repo-bench/data/many-small@0.25";
const repo = await openRepository({ storage: createLocalStorage({ root: "/tmp/ms-repo" }) });
const n = Number(process.argv[2] ?? 10);
const times = [];
for (let i = 0; i < n; i++) {
  const t = performance.now();
  await backup(repo, { source: S, server: "s1", ignore: [] });
  times.push(performance.now() - t);
  console.log("lstat", Number(globalThis.__t.l / 1000000n), "readdir", Number(globalThis.__t.r / 1000000n));
  globalThis.__t = { l: 0n, r: 0n };
}
console.log(times.map((t) => t.toFixed(0)).join(" "));
