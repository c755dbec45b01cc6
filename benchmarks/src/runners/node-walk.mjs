// The least a Node process can do to tell what changed in a tree, for repository-bench.ts and
// daemon-bench.ts: list every folder and lstat every entry (with nanosecond times, as a backup compares
// them), nothing else. What a backup of an unchanged tree cannot go below in Node, beside `find`'s walk.
//
//   node node-walk.mjs <folder>     (prints the number of entries)
import { lstatSync, readdirSync } from "node:fs";

/** Lists `folder` and everything under it, lstat-ing each entry; returns how many entries there are. */
export function countEntries(folder) {
  let entries = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    lstatSync(path, { bigint: true });
    entries++;
    if (entry.isDirectory()) entries += countEntries(path);
  }
  return entries;
}

if (process.argv[1] === import.meta.filename) console.log(countEntries(process.argv[2]));
