// Rate-limit benchmark: how long a pack takes under a read limit, and what the limiter costs when off.
// Runs on the built package: `pnpm build`, then
//   node packages/core/scripts/rate-limit-bench.mjs [--mib 500] [--limit 20] [--repeat 3]
// Expected: with --limit 20 a 500 MiB tree packs in 25 s +-10%; without a limit, as fast as a plain pack.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLocalStorage } from "../../storage-local/dist/index.js";
import { packToFile } from "../dist/archive/pack/pack-file.js";
import { createBackupManager, createRateLimiter } from "../dist/index.js";

const MiB = 1024 * 1024;
const FILE_MIB = 4;
const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "500" },
    limit: { type: "string", default: "20" },
    repeat: { type: "string", default: "3" },
  },
});
const totalMiB = Number(values.mib);
const limit = Number(values.limit) * MiB;

/** Half random, half text-like files, so compression does real work as on a game server. */
async function generateTree(root) {
  const text = Buffer.from("x=1 y=2 name=world entity minecraft:zombie ".repeat(100_000)).subarray(
    0,
    FILE_MIB * MiB,
  );
  for (let i = 0; i < totalMiB / FILE_MIB; i++) {
    const dir = join(root, `region-${i % 16}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.bin`), i % 2 === 0 ? randomBytes(FILE_MIB * MiB) : text);
  }
}

function median(list) {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed(label, run) {
  const start = performance.now();
  const result = await run();
  const seconds = (performance.now() - start) / 1000;
  const tar = result.sourceBytes / MiB;
  console.log(
    `${label.padEnd(44)} ${seconds.toFixed(2).padStart(7)} s  ${(tar / seconds).toFixed(1).padStart(6)} MiB/s of source`,
  );
  return seconds;
}

const dir = await mkdtemp(join(tmpdir(), "strongbox-rate-bench-"));
try {
  const root = join(dir, "server");
  await generateTree(root);
  console.log(
    `tree: ${totalMiB} MiB in ${totalMiB / FILE_MIB} files; limit ${values.limit} MiB/s; node ${process.version}`,
  );
  const archive = (name) => join(dir, `${name}.tar.gz`);
  // Alternated and repeated: the first runs warm the page cache, so one pair alone would mislead.
  const plainRuns = [];
  const offRuns = [];
  for (let i = 0; i < Number(values.repeat); i++) {
    plainRuns.push(await timed("packToFile, no limiter", () => packToFile(root, archive("plain"))));
    offRuns.push(
      await timed("packToFile, unlimited limiter (limit off)", () =>
        packToFile(root, archive("off"), { readLimiters: [createRateLimiter(undefined)] }),
      ),
    );
  }
  const plain = median(plainRuns);
  const off = median(offRuns);
  const limited = await timed(`packToFile, read limit ${values.limit} MiB/s`, () =>
    packToFile(root, archive("limited"), { readLimiters: [createRateLimiter(limit)] }),
  );
  const storage = createLocalStorage({ root: join(dir, "store") });
  const managerRun = async (rateLimits, server) => {
    const manager = createBackupManager({ storage, serverRoot: () => root, rateLimits });
    const record = await manager.wait(server, (await manager.create(server)).uuid);
    if (!record.is_successful) throw new Error(record.error);
    return { sourceBytes: record.source_bytes };
  };
  const managerOff = await timed("manager backup to local disk, no limits", () => managerRun({}, "off"));
  const managerLimited = await timed(`manager backup, read limit ${values.limit} MiB/s`, () =>
    managerRun({ read: limit }, "limited"),
  );
  const expected = (totalMiB * MiB) / limit;
  console.log(
    `expected under the limit: ${expected.toFixed(1)} s; packToFile ${((limited / expected - 1) * 100).toFixed(1)}%, ` +
      `manager ${((managerLimited / expected - 1) * 100).toFixed(1)}%`,
  );
  console.log(
    `limiter off vs no limiter (medians ${off.toFixed(2)} / ${plain.toFixed(2)} s): ${((off / plain - 1) * 100).toFixed(1)}% ` +
      `(manager, all limiters off: ${managerOff.toFixed(2)} s)`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
