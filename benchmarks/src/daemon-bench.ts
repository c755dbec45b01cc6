/**
 * Backups as a node daemon runs them: one process opens the repository once (one key derivation) and backs
 * up again and again, so Node's start-up, module loading and the password's scrypt are paid once, not per
 * backup as in repository-bench.ts (which runs every operation as its own process, as the `strongbox`
 * command would). Without and with a password, it prints:
 * - game-server's churn days: each day's backup time and their median;
 * - many-small backed up again with nothing changed, `--runs` times, each run next to the two walks a
 *   re-backup is measured against, in the same machine state: `find DIR -printf '%s %T@\n'` (its own
 *   process, as in the issue's target) and Node's own listing and lstat of every entry in this process
 *   (runners/node-walk.mjs): the medians and the ratios.
 *
 * With `--other-chunks N`, the repository's index also lists N chunks of no backup (one synthetic index
 * object naming packs that do not exist: no backup ever reuses them), as a repository many servers share
 * would; with `--keep-index`, the repository is opened with `keepIndex` (each backup reads only the index
 * objects written since the last one, and copies the rest from memory).
 *
 *   pnpm build && cd benchmarks && npx tsx src/daemon-bench.ts [--scale 0.25] [--days 10] [--runs 5] [--data DIR]
 *     [--other-chunks N] [--keep-index]
 *
 * Without `--conditions=source`: the packages' built code, so the chunk threads start as they do in a
 * daemon, not through tsx's loader.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { backup, initRepository, type Repository, writeIndexObject } from "@strongbox/repository";
import { createLocalStorage } from "@strongbox/storage-local";
import { applyChurnDay } from "./churn.js";
import { ensureTree } from "./generate.js";
import { formatSeconds, median, timed } from "./report.js";
import { countEntries } from "./runners/node-walk.mjs";
import { syntheticEntries, syntheticIds } from "./synthetic-index.js";

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "0.25" },
    days: { type: "string", default: "10" },
    runs: { type: "string", default: "5" },
    data: { type: "string", default: ".data" },
    "other-chunks": { type: "string", default: "0" },
    "keep-index": { type: "boolean", default: false },
  },
});
const scale = Number(values.scale);
const days = Number(values.days);
const runs = Number(values.runs);
const { root: pristine, info } = ensureTree(values.data!, "game-server", scale);
const manySmall = ensureTree(values.data!, "many-small", scale);

/** Seconds `run` takes. */
const seconds = async (run: () => unknown): Promise<number> => (await timed(run))[1];

for (const password of [undefined, "daemon-bench"]) {
  const work = mkdtempSync(join(tmpdir(), "strongbox-daemon-bench-"));
  try {
    const repo = await initRepository({
      storage: createLocalStorage({ root: join(work, "repo") }),
      keepIndex: values["keep-index"],
      ...(password ? { password } : {}),
    });
    await indexOtherChunks(repo, Number(values["other-chunks"]));
    const column =
      `${password ? "with a password" : "without a password"}, ${values["other-chunks"]} other chunks, ` +
      `${values["keep-index"] ? "index kept" : "index read by every backup"}`;
    await churnDays(repo, join(work, "source"), column);
    await unchangedManySmall(repo, column);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function churnDays(repo: Repository, source: string, column: string): Promise<void> {
  cpSync(pristine, source, { recursive: true, preserveTimestamps: true });
  const options = { source, server: "game-server", ignore: info.ignore };
  await backup(repo, options);
  const times: number[] = [];
  for (let day = 1; day <= days; day++) {
    applyChurnDay(source, day, scale);
    times.push(await seconds(() => backup(repo, options)));
  }
  console.log(
    `game-server@${scale}, ${column}: ${days} churn days backed up in one process: ` +
      `${formatSeconds(times)} s, median ${median(times).toFixed(3)} s`,
  );
}

async function unchangedManySmall(repo: Repository, column: string): Promise<void> {
  const source = manySmall.root;
  const options = { source, server: "many-small", ignore: manySmall.info.ignore };
  await backup(repo, options);
  const backups: number[] = [];
  const finds: number[] = [];
  const walks: number[] = [];
  for (let run = 0; run < runs; run++) {
    backups.push(await seconds(() => backup(repo, options)));
    finds.push(
      await seconds(() => execFileSync("find", [source, "-printf", "%s %T@\\n"], { maxBuffer: 1 << 30 })),
    );
    walks.push(await seconds(() => countEntries(source)));
  }
  const [ours, find, walk] = [backups, finds, walks].map(median) as [number, number, number];
  console.log(
    `many-small@${scale} (${manySmall.info.files} files), ${column}: backed up again with nothing changed ` +
      `in one process: ${formatSeconds(backups)} s, median ${ours.toFixed(3)} s; find -printf ${formatSeconds(finds)} s, ` +
      `median ${find.toFixed(3)} s; Node's listing and lstat (this process) ${formatSeconds(walks)} s, median ` +
      `${walk.toFixed(3)} s. Re-backup / find ${(ours / find).toFixed(2)}, re-backup / Node walk ` +
      `${(ours / walk).toFixed(2)}, Node walk / find ${(walk / find).toFixed(2)}.`,
  );
}

/** Lists `count` chunks of no backup in one index object (their packs do not exist: nothing reads them). */
async function indexOtherChunks(repo: Repository, count: number): Promise<void> {
  if (count > 0) await writeIndexObject(repo, syntheticEntries(syntheticIds(count)));
}
