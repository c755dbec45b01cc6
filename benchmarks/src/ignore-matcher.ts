/**
 * Time and memory of the ignore matcher as a pack walk uses it: one call per path, parents before
 * children, ignored folders never entered. A synthetic server tree of 100k paths against 20 rules of
 * the kind a `.pteroignore` holds; then `--copies` more trees under other roots, all distinct paths,
 * to show whether memory grows with the number of paths asked about.
 *
 *   node --expose-gc --import tsx --conditions=source benchmarks/src/ignore-matcher.ts [--copies 10]
 */
import { parseArgs } from "node:util";
import { createIgnoreMatcher, type IgnoreMatcher } from "@strongbox/core";

const RULES = [
  "*.log",
  "!latest.log",
  "cache/",
  "/logs",
  "*.tmp",
  "**/backups/**",
  "plugins/*/data/*.db",
  "crash-reports/",
  "[Tt]emp/",
  "*.lck",
  "session.lock",
  "/world/playerdata/*.dat_old",
  "*.sw[op]",
  ".git/",
  "node_modules/",
  "dynmap/web/tiles/",
  "*.[0-9].gz",
  "debug/**",
  "!keep/",
  "*.bak",
];

interface Folder {
  name: string;
  folders: Folder[];
  files: string[];
}

const FILE_NAMES = ["config.yml", "a.log", "latest.log", "data.json", "r.0.0.mca", "x.tmp", "y.bak", "z.db"];
/** One of them (`cache`) is ignored, so the walk prunes its subtree at every level. */
const FOLDER_NAMES = ["world", "plugins", "region", "data", "mods", "config", "keep", "cache"];

/** A deterministic tree: every folder holds `width` files and, above `depth`, `FOLDER_NAMES.length` folders. */
function tree(name: string, depth: number, width: number): Folder {
  const files = Array.from({ length: width }, (_, i) => `${i}-${FILE_NAMES[i % FILE_NAMES.length]}`);
  const folders = depth === 0 ? [] : FOLDER_NAMES.map((child) => tree(child, depth - 1, width));
  return { name, folders, files };
}

function countPaths(folder: Folder): number {
  return folder.files.length + folder.folders.reduce((sum, child) => sum + 1 + countPaths(child), 0);
}

/** Asks about every path the walker would reach; returns how many calls were made. */
function walk(matcher: IgnoreMatcher, folder: Folder, prefix: string): number {
  let calls = 0;
  for (const file of folder.files) {
    calls++;
    matcher.ignores(`${prefix}${file}`, false);
  }
  for (const child of folder.folders) {
    const path = `${prefix}${child.name}`;
    calls++;
    if (!matcher.ignores(path, true)) calls += walk(matcher, child, `${path}/`);
  }
  return calls;
}

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const { values } = parseArgs({ options: { copies: { type: "string", default: "10" } } });
const root = tree("", 4, 34);
const matcher = createIgnoreMatcher(RULES);
const heapBefore = heapMiB();
const started = process.hrtime.bigint();
const calls = walk(matcher, root, "");
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const heapAfterOne = heapMiB();
let moreCalls = 0;
const startedCopies = process.hrtime.bigint();
for (let copy = 0; copy < Number(values.copies); copy++) moreCalls += walk(matcher, root, `copy${copy}/`);
const msCopies = Number(process.hrtime.bigint() - startedCopies) / 1e6;
const heapAfterAll = heapMiB();
console.log(
  JSON.stringify({
    treePaths: countPaths(root),
    rules: RULES.length,
    calls,
    ms: Math.round(ms),
    nsPerCall: Math.round((ms * 1e6) / calls),
    copiesNsPerCall: Math.round((msCopies * 1e6) / moreCalls),
    heapGrowthMiB: {
      [`after ${calls} calls`]: +(heapAfterOne - heapBefore).toFixed(1),
      [`after ${calls + moreCalls} calls`]: +(heapAfterAll - heapBefore).toFixed(1),
    },
  }),
);
