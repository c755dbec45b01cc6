/**
 * Loading a large chunk index: a synthetic index object of `--chunks` random ids (in packs of 1,024
 * chunks, as `loadIndex` meets them) decoded into a fresh `ChunkIndex` and compacted, `--runs` times, in
 * one object and split in ten (a repository where ten backups each wrote one), and the copy of the loaded
 * index each operation takes instead when the repository keeps its index (`keepIndex`). Prints the medians.
 *
 *   pnpm build && cd benchmarks && npx tsx src/index-load.ts [--chunks 1000000] [--runs 5]
 */
import { parseArgs } from "node:util";
import { ChunkIndex, decodeIndexObject, encodeIndexObject } from "@strongbox/repository";
import { formatSeconds, median, timed } from "./report.js";
import { syntheticEntries, syntheticIds } from "./synthetic-index.js";

const { values } = parseArgs({
  options: { chunks: { type: "string", default: "1000000" }, runs: { type: "string", default: "5" } },
});
const chunks = Number(values.chunks);
const runs = Number(values.runs);
const ids = syntheticIds(chunks);
const whole = encodeIndexObject(syntheticEntries(ids));
const tenth = Math.ceil(chunks / 10);
const parts = Array.from({ length: 10 }, (_, n) =>
  encodeIndexObject(syntheticEntries(ids, n * tenth, Math.min(chunks, (n + 1) * tenth))),
);

/** `objects` loaded into a fresh index, and the seconds it took. */
const load = (objects: Buffer[]): Promise<[ChunkIndex, number]> =>
  timed(() => {
    const index = new ChunkIndex();
    for (const object of objects) decodeIndexObject(object, index, "bench");
    index.compact();
    if (index.size !== chunks) throw new Error(`index-load: ${index.size} chunks loaded, not ${chunks}`);
    return index;
  });
const one: number[] = [];
const ten: number[] = [];
const copies: number[] = [];
for (let run = 0; run < runs; run++) {
  const [index, seconds] = await load([whole]);
  one.push(seconds);
  ten.push((await load(parts))[1]);
  const [copy, copySeconds] = await timed(() => index.clone());
  if (copy.size !== chunks) throw new Error("index-load: the copy lost chunks");
  copies.push(copySeconds);
}
console.log(
  `${chunks} chunks: one index object ${formatSeconds(one)} s (median ${median(one).toFixed(3)}), ` +
    `ten objects ${formatSeconds(ten)} s (median ${median(ten).toFixed(3)}), ` +
    `a copy of the kept index ${formatSeconds(copies)} s (median ${median(copies).toFixed(3)})`,
);
