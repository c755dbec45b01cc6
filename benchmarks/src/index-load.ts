/**
 * Loading a large chunk index: a synthetic index object of `--chunks` random ids (in packs of 1,024
 * chunks, as `loadIndex` meets them) decoded into a fresh `ChunkIndex` and compacted, `--runs` times, in
 * one object and split in ten (a repository where ten backups each wrote one), and the copy of the loaded
 * index each operation takes instead when the repository keeps its index (`keepIndex`). Prints the medians.
 *
 *   pnpm build && cd benchmarks && npx tsx src/index-load.ts [--chunks 1000000] [--runs 5]
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { ChunkIndex, type ChunkLocation, decodeIndexObject, encodeIndexObject } from "@strongbox/repository";
import { median } from "./report.js";

const { values } = parseArgs({
  options: { chunks: { type: "string", default: "1000000" }, runs: { type: "string", default: "5" } },
});
const chunks = Number(values.chunks);
const runs = Number(values.runs);
const ids = randomBytes(chunks * 32);
const entries = (from: number, to: number): [Uint8Array, ChunkLocation][] =>
  Array.from({ length: to - from }, (_, n) => {
    const chunk = from + n;
    const location = { pack: packIdOf(chunk >> 10), offset: chunk * 100, length: 100, rawLength: 200 };
    return [ids.subarray(chunk * 32, chunk * 32 + 32), location];
  });
const whole = encodeIndexObject(entries(0, chunks));
const tenth = Math.ceil(chunks / 10);
const parts = Array.from({ length: 10 }, (_, n) =>
  encodeIndexObject(entries(n * tenth, Math.min(chunks, (n + 1) * tenth))),
);

/** `objects` loaded into a fresh index, and the seconds it took. */
const load = (objects: Buffer[]): [ChunkIndex, number] => {
  const started = performance.now();
  const index = new ChunkIndex();
  for (const object of objects) decodeIndexObject(object, index, "bench");
  index.compact();
  if (index.size !== chunks) throw new Error(`index-load: ${index.size} chunks loaded, not ${chunks}`);
  return [index, (performance.now() - started) / 1000];
};
const one: number[] = [];
const ten: number[] = [];
const copies: number[] = [];
for (let run = 0; run < runs; run++) {
  const [index, seconds] = load([whole]);
  one.push(seconds);
  ten.push(load(parts)[1]);
  const started = performance.now();
  if (index.clone().size !== chunks) throw new Error("index-load: the copy lost chunks");
  copies.push((performance.now() - started) / 1000);
}
const format = (seconds: number[]) => seconds.map((s) => s.toFixed(3)).join(" ");
console.log(
  `${chunks} chunks: one index object ${format(one)} s (median ${median(one).toFixed(3)}), ` +
    `ten objects ${format(ten)} s (median ${median(ten).toFixed(3)}), ` +
    `a copy of the kept index ${format(copies)} s (median ${median(copies).toFixed(3)})`,
);

function packIdOf(pack: number): string {
  return pack.toString(16).padStart(32, "0");
}
