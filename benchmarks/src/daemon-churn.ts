/**
 * A churn day backed up as a node daemon runs it: one process opens the repository once (one key
 * derivation) and backs up day after day, so Node's start-up, module loading and the password's scrypt
 * are paid once, not per backup as in repository-bench.ts (which runs every operation as its own process,
 * as the `strongbox` command would). Prints each day's backup time and their median, without and with a
 * password.
 *
 *   pnpm build && cd benchmarks && npx tsx src/daemon-churn.ts [--scale 0.25] [--days 10] [--data DIR]
 *
 * Without `--conditions=source`: the packages' built code, so the chunk threads start as they do in a
 * daemon, not through tsx's loader.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { backup, initRepository } from "@strongbox/repository";
import { createLocalStorage } from "@strongbox/storage-local";
import { applyChurnDay } from "./churn.js";
import { ensureTree } from "./generate.js";

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "0.25" },
    days: { type: "string", default: "10" },
    data: { type: "string", default: ".data" },
  },
});
const scale = Number(values.scale);
const days = Number(values.days);
const { root: pristine, info } = ensureTree(values.data!, "game-server", scale);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

for (const password of [undefined, "daemon-churn"]) {
  const work = mkdtempSync(join(tmpdir(), "strongbox-daemon-churn-"));
  try {
    const source = join(work, "source");
    cpSync(pristine, source, { recursive: true, preserveTimestamps: true });
    const repo = await initRepository({
      storage: createLocalStorage({ root: join(work, "repo") }),
      ...(password ? { password } : {}),
    });
    const options = { source, server: "game-server", ignore: info.ignore };
    await backup(repo, options);
    const times: number[] = [];
    for (let day = 1; day <= days; day++) {
      applyChurnDay(source, day, scale);
      const started = performance.now();
      await backup(repo, options);
      times.push((performance.now() - started) / 1000);
    }
    console.log(
      `game-server@${scale}, ${password ? "with" : "without"} a password: ${days} churn days backed up in one process: ` +
        `${times.map((t) => t.toFixed(3)).join(" ")} s, median ${median(times).toFixed(3)} s`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
