/**
 * Index entries of chunks no backup made, for index-load.ts and daemon-bench.ts: random ids in packs of
 * 1,024 chunks (the packs are never written: nothing reads them), as a large repository's index holds them.
 */
import { randomBytes } from "node:crypto";
import type { ChunkLocation } from "@strongbox/repository";

/** `count` random chunk ids; {@link syntheticEntries} gives index entries of a range of them. */
export function syntheticIds(count: number): Buffer {
  return randomBytes(count * 32);
}

/** Index entries of chunks `from` to `to` (excluded) of `ids`, chunk `n` in pack `n >> 10`. */
export function* syntheticEntries(
  ids: Buffer,
  from = 0,
  to = ids.length / 32,
): Generator<[Uint8Array, ChunkLocation]> {
  for (let chunk = from; chunk < to; chunk++) {
    const pack = (chunk >> 10).toString(16).padStart(32, "0");
    yield [
      ids.subarray(chunk * 32, chunk * 32 + 32),
      { pack, offset: chunk * 100, length: 100, rawLength: 200 },
    ];
  }
}
