/**
 * Chooses the repository's chunk sizes by measurement: a game-server tree and 10 days of churn, chunked
 * with each candidate (min/average/max), counting the distinct chunks stored after the first backup and
 * after the 10 days. A file the day did not change is skipped, as the repository's file-level skip will.
 *
 *   pnpm --filter @strongbox/benchmarks exec tsx --conditions=source src/chunk-sizes.ts [--scale 1] [--data DIR]
 */
import { createHash } from "node:crypto";
import { closeSync, cpSync, openSync, readdirSync, readSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { type ChunkSizes, createChunker } from "@strongbox/repository";
import { applyChurnDay } from "./churn.js";
import { ensureTree } from "./generate.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const DAYS = 10;
const CANDIDATES: ChunkSizes[] = [
  { min: 2 * KiB, average: 8 * KiB, max: 32 * KiB },
  { min: 4 * KiB, average: 16 * KiB, max: 64 * KiB },
  { min: 8 * KiB, average: 32 * KiB, max: 128 * KiB },
  { min: 16 * KiB, average: 64 * KiB, max: 256 * KiB },
  { min: 64 * KiB, average: 256 * KiB, max: 1 * MiB },
  { min: 256 * KiB, average: 1 * MiB, max: 4 * MiB },
  // restic's sizes
  { min: 512 * KiB, average: 1 * MiB, max: 8 * MiB },
];

const { values } = parseArgs({
  options: { scale: { type: "string", default: "1" }, data: { type: "string", default: ".data" } },
});
const scale = Number(values.scale);
const { root: pristine, info } = ensureTree(values.data!, "game-server", scale);
const root = `${pristine}-churn`;
rmSync(root, { recursive: true, force: true });
cpSync(pristine, root, { recursive: true });

const ignored = (path: string) => info.ignore.some((rule) => path.startsWith(rule.replace(/\/$/, "/")));
const stores = CANDIDATES.map(() => new Map<string, number>());
const seconds = CANDIDATES.map(() => 0);
let chunkedBytes = 0;
const buffer = Buffer.allocUnsafe(MiB);

/** Chunks one file with every candidate, adding new chunk ids to each store. */
function chunkFile(path: string): void {
  const chunkers = CANDIDATES.map((sizes) => createChunker(sizes));
  const pending = CANDIDATES.map(() => createHash("sha256"));
  // Bytes of each candidate's current chunk already in its running hash (from earlier reads).
  const carried = CANDIDATES.map(() => 0);
  const fd = openSync(path, "r");
  const add = (index: number, hash: ReturnType<typeof createHash>, length: number) => {
    stores[index]!.set(hash.digest("hex"), length);
  };
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) {
      const bytes = buffer.subarray(0, read);
      chunkedBytes += read;
      chunkers.forEach((chunker, index) => {
        const started = performance.now();
        const cuts = chunker.push(bytes);
        seconds[index]! += (performance.now() - started) / 1000;
        let at = 0;
        for (const length of cuts) {
          const take = length - carried[index]!;
          pending[index]!.update(bytes.subarray(at, at + take));
          add(index, pending[index]!, length);
          pending[index] = createHash("sha256");
          carried[index] = 0;
          at += take;
        }
        pending[index]!.update(bytes.subarray(at));
        carried[index]! += bytes.length - at;
      });
    }
    chunkers.forEach((chunker, index) => {
      const last = chunker.end();
      if (last > 0) add(index, pending[index]!, last);
    });
  } finally {
    closeSync(fd);
  }
}

const files = (readdirSync(root, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
  .filter((entry) => entry.isFile())
  .map((entry) => relative(root, join(entry.parentPath, entry.name)))
  .filter((path) => !ignored(path))
  .sort();
for (const path of files) chunkFile(join(root, path));
const first = stores.map((store) => sum(store));
let written = 0;
for (let day = 1; day <= DAYS; day++) {
  const churn = applyChurnDay(root, day, scale);
  const kept = churn.changed.filter((changed) => !ignored(changed));
  for (const path of kept) chunkFile(join(root, path));
  written += churn.bytes;
}
rmSync(root, { recursive: true, force: true });

console.log(
  `game-server@${scale}: ${files.length} files, ${mib(info.bytes)}; ${DAYS} days of churn writing ${mib(written)} (the ignored log included)`,
);
console.log(
  "| min / average / max | chunks | stored after day 0 | stored after 10 days | growth per day | chunking MiB/s |",
);
console.log("|---|---:|---:|---:|---:|---:|");
CANDIDATES.forEach((sizes, index) => {
  const total = sum(stores[index]!);
  const label = [sizes.min, sizes.average, sizes.max].map(size).join(" / ");
  const rate = (chunkedBytes / MiB / seconds[index]!).toFixed(0);
  console.log(
    `| ${label} | ${stores[index]!.size} | ${mib(first[index]!)} | ${mib(total)} | ${mib((total - first[index]!) / DAYS)} | ${rate} |`,
  );
});

function sum(store: Map<string, number>): number {
  let total = 0;
  for (const length of store.values()) total += length;
  return total;
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

function size(bytes: number): string {
  return bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`;
}
