import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { type ChunkSizes, createChunker, gearTable } from "../src/index.js";
import { noise } from "./fixtures/noise.js";

const KiB = 1024;
const SIZES: ChunkSizes = { min: 16 * KiB, average: 64 * KiB, max: 256 * KiB };

/** Chunk lengths of `data` pushed in slices of the given sizes (cycled), the last chunk included. */
function chunkLengths(data: Uint8Array, slices: readonly number[] = [data.length], sizes = SIZES): number[] {
  const chunker = createChunker(sizes);
  const lengths: number[] = [];
  for (let at = 0, index = 0; at < data.length; index++) {
    const size = slices[index % slices.length]!;
    lengths.push(...chunker.push(data.subarray(at, at + size)));
    at += size;
  }
  const last = chunker.end();
  if (last > 0) lengths.push(last);
  return lengths;
}

/** sha256 of each chunk, in order. */
function chunkIds(data: Buffer, lengths: readonly number[]): string[] {
  let at = 0;
  return lengths.map((length) => {
    const id = createHash("sha256")
      .update(data.subarray(at, at + length))
      .digest("hex");
    at += length;
    return id;
  });
}

describe("content-defined chunks", () => {
  const data = noise("file", 8 * 1024 * KiB);
  const whole = chunkLengths(data);

  test("cover the file exactly, each between min and max but the last, averaging near the target", () => {
    expect(whole.reduce((sum, length) => sum + length, 0)).toBe(data.length);
    for (const length of whole.slice(0, -1)) {
      expect(length).toBeGreaterThanOrEqual(SIZES.min);
      expect(length).toBeLessThanOrEqual(SIZES.max);
    }
    const mean = data.length / whole.length;
    expect(mean).toBeGreaterThan(SIZES.average / 2);
    expect(mean).toBeLessThan(SIZES.average * 2);
    // Normalized chunking gathers sizes: few cuts are forced at max.
    expect(whole.filter((length) => length === SIZES.max).length).toBeLessThan(whole.length / 20);
  });

  test("do not depend on how the bytes were sliced", () => {
    expect(chunkLengths(data, [1, 7, 31, 4096, 65_537, 300_001])).toEqual(whole);
    expect(chunkLengths(data.subarray(0, 200 * KiB), [1])).toEqual(chunkLengths(data.subarray(0, 200 * KiB)));
  });

  test("an insertion or a rewritten 4 KiB sector changes only the chunks around it", () => {
    const before = new Set(chunkIds(data, whole));
    const inserted = Buffer.concat([
      data.subarray(0, 3_000_000),
      Buffer.from("hello"),
      data.subarray(3_000_000),
    ]);
    const rewritten = Buffer.from(data);
    noise("sector", 4 * KiB).copy(rewritten, 5 * 1024 * KiB);
    for (const changed of [inserted, rewritten]) {
      const ids = chunkIds(changed, chunkLengths(changed));
      const fresh = ids.filter((id) => !before.has(id));
      expect(fresh.length).toBeGreaterThanOrEqual(1);
      expect(fresh.length).toBeLessThanOrEqual(2);
    }
  });

  test("runs of zeros cut into equal chunks, so they deduplicate", () => {
    const lengths = chunkLengths(Buffer.alloc(4 * 1024 * KiB));
    expect(new Set(lengths.slice(0, -1)).size).toBe(1);
  });

  test("another gear table cuts elsewhere; the same seed cuts the same", () => {
    const keyed = (seed: string) =>
      chunkLengths(data, [data.length], { ...SIZES, gear: gearTable(seed) } as ChunkSizes);
    expect(keyed("strongbox")).toEqual(whole);
    expect(keyed("a repository secret")).not.toEqual(whole);
    expect(keyed("a repository secret")).toEqual(keyed("a repository secret"));
  });

  // The cuts are part of the repository format: a chunker that cut elsewhere would store every file of an
  // existing repository again (its chunks would not match). Pinned to the cuts of the first release.
  test.each([
    [
      "the default table",
      undefined,
      233,
      "14695,19790,10250,18851,22876,20533",
      "c05a9f1ba9ee04c020747dc7581c5d5fef1354c9d37e40c50d49b2e2d911289e",
    ],
    [
      "a seeded table",
      "repository secret",
      227,
      "19543,17503,16864,23872,20802,15700",
      "f86fa308bda6cff72deb6ab192556b112d6515926f7e347bec019330b115c5be",
    ],
  ])("cut where they always did, with %s (4/16/64 KiB)", (_, seed, count, first, digest) => {
    const sizes = {
      min: 4 * KiB,
      average: 16 * KiB,
      max: 64 * KiB,
      ...(seed ? { gear: gearTable(seed) } : {}),
    };
    const pinned = noise("pinned cuts", 4 * 1024 * KiB);
    for (const slices of [[pinned.length], [1 * KiB, 777, 64 * KiB]]) {
      const lengths = chunkLengths(pinned, slices, sizes);
      expect(lengths.length).toBe(count);
      expect(lengths.slice(0, 6).join(",")).toBe(first);
      expect(createHash("sha256").update(lengths.join(",")).digest("hex")).toBe(digest);
    }
  });

  test("end() resets: the next file starts fresh", () => {
    const chunker = createChunker(SIZES);
    chunker.push(data.subarray(0, 1000));
    expect(chunker.end()).toBe(1000);
    expect(chunker.end()).toBe(0);
    const again = [...chunker.push(data), chunker.end()].filter((length) => length > 0);
    expect(again).toEqual(whole);
  });
});

describe("chunk sizes", () => {
  test.each([
    [{ min: 0, average: 64, max: 128 }, /whole numbers/],
    [{ min: 64, average: 32, max: 128 }, /min <= average <= max/],
    [{ min: 16, average: 100, max: 128 }, /power of two/],
    [{ min: 8, average: 32, max: 64 }, /from 64 B/],
  ])("%o is refused", (sizes, message) => {
    expect(() => createChunker(sizes)).toThrow(message);
  });
});
