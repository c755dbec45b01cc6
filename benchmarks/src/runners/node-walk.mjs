// The least a Node process can do to tell what changed in a tree, for repository-bench.ts: list every
// folder and lstat every entry (with nanosecond times, as a backup compares them), nothing else. What a
// backup of an unchanged tree cannot go below in Node, beside `find`'s walk.
//
//   node node-walk.mjs <folder>     (prints the number of entries)
import { lstatSync, readdirSync } from "node:fs";

let entries = 0;
const walk = (folder) => {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    lstatSync(path, { bigint: true });
    entries++;
    if (entry.isDirectory()) walk(path);
  }
};
walk(process.argv[2]);
console.log(entries);
