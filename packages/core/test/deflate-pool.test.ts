import { randomBytes } from "node:crypto";
import { constants, inflateRawSync } from "node:zlib";
import { afterEach, describe, expect, test } from "vitest";
import { type ArchiveWorkers, createArchiveWorkers } from "../src/archive/archive-workers.js";
import { deflateBlock } from "../src/archive/gzip/deflate-block.js";

const KiB = 1024;
let pool: ArchiveWorkers | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

/** A block of text with random bytes at [64 KiB, 128 KiB), marked incompressible, in memory of its own. */
function mixedBlock(seed: number): { data: Buffer; incompressible: Uint32Array } {
  const data = Buffer.from(`block ${seed}: some words that repeat and repeat\n`.repeat(6000)).subarray(
    0,
    256 * KiB,
  );
  randomBytes(64 * KiB).copy(data, 64 * KiB);
  return { data: Buffer.from(new Uint8Array(data)), incompressible: Uint32Array.from([64 * KiB, 128 * KiB]) };
}

describe("the deflate threads of ArchiveWorkers", () => {
  test("deflates blocks as deflateBlock does, and counts those no worker is free to take up", async () => {
    pool = createArchiveWorkers({ threads: 2 });
    const blocks = Array.from({ length: 6 }, (_, i) => mixedBlock(i));
    const expected = blocks.map(({ data, incompressible }) =>
      Buffer.from(deflateBlock(data, { level: 6, storeIncompressible: true, incompressible })),
    );
    const running = pool;
    const outputs = blocks.map(({ data, incompressible }) =>
      running.deflate(Buffer.from(new Uint8Array(data)), {
        level: 6,
        storeIncompressible: true,
        incompressible,
      }),
    );
    // Six sent, two threads allowed: four wait.
    expect(pool.waiting).toBe(4);
    const results = await Promise.all(outputs);
    expect(pool.waiting).toBe(0);
    for (const [i, output] of results.entries()) {
      expect(output.equals(expected[i]!)).toBe(true);
      expect(inflateRawSync(output, { finishFlush: constants.Z_SYNC_FLUSH }).equals(blocks[i]!.data)).toBe(
        true,
      );
    }
  });

  test("rejects every job once closed", async () => {
    pool = createArchiveWorkers({ threads: 1 });
    const { data, incompressible } = mixedBlock(1);
    const job = pool.deflate(data, { level: 1, storeIncompressible: true, incompressible });
    const rejected = expect(job).rejects.toThrow("The deflate workers were stopped.");
    await pool.close();
    await rejected;
  });
});
