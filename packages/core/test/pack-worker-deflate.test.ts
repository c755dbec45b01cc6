import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { compressBlocks, type InputBlock } from "../src/archive/gzip/compress.js";
import { mixesStoredAndDeflated } from "../src/archive/gzip/deflate-block.js";
import { startPackWorker } from "../src/archive/pack/pack-worker-client.js";
import { useTempDirs } from "./helpers/tree.js";

const tempDir = useTempDirs();

/** 240 files of 3-9 KiB, text and random bytes in turn: nearly every 512 KiB tar block mixes both. */
async function mixedTree(root: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const size = 3072 + ((i * 2654435761) % 6144);
    const content =
      i % 2 === 0 ? randomBytes(size) : Buffer.from(`line ${i} of a config file\n`.repeat(size / 24));
    await mkdir(join(root, `d${i % 7}`), { recursive: true });
    await writeFile(join(root, `d${i % 7}`, `f${i}.dat`), content);
  }
}

/**
 * Runs the pack worker with the blocks waiting at the deflate workers fixed at `waiting`, then compresses
 * its blocks.
 */
async function packWithWaiting(root: string, level: number, waiting: number) {
  // Set before the worker has even started: no block is handed over before it.
  const deflateWaiting = new Int32Array(new SharedArrayBuffer(4)).fill(waiting);
  const run = startPackWorker({ root, ignoreRules: "", exclude: [], level }, {}, deflateWaiting);
  const seen: Array<{ mixed: boolean; deflated: boolean }> = [];
  async function* observed(): AsyncGenerator<InputBlock> {
    for await (const block of run.blocks) {
      seen.push({
        mixed: mixesStoredAndDeflated(block.data.length, block.incompressible!),
        deflated: block.deflated !== undefined,
      });
      yield block;
    }
  }
  const parts: Buffer[] = [];
  for await (const part of compressBlocks(observed(), { level, passOutput: run.hashOutput }))
    parts.push(part as Buffer);
  await run.stats;
  expect(await run.digest()).toBe(
    `sha256:${createHash("sha256").update(Buffer.concat(parts)).digest("hex")}`,
  );
  return { gz: Buffer.concat(parts), seen };
}

describe("the pack worker deflating blocks while the deflate workers are busy", () => {
  test.each([1, 6])("gives byte for byte the archive the deflate workers give (level %i)", async (level) => {
    const root = await tempDir();
    await mixedTree(root);
    const alone = await packWithWaiting(root, level, 0);
    const helped = await packWithWaiting(root, level, 1);

    expect(alone.seen.filter((block) => block.mixed).length).toBeGreaterThanOrEqual(2);
    expect(alone.seen.some((block) => block.deflated)).toBe(false);
    // Every mixed block, and only those, came deflated from the pack worker.
    expect(helped.seen.map((block) => block.deflated)).toEqual(helped.seen.map((block) => block.mixed));
    expect(helped.gz.equals(alone.gz)).toBe(true);
    expect(gunzipSync(helped.gz).length % 512).toBe(0);
  });

  test("leaves every block to the compressor at level 0", async () => {
    const root = await tempDir();
    await mixedTree(root);
    const stored = await packWithWaiting(root, 0, 5);
    expect(stored.seen.some((block) => block.deflated)).toBe(false);
  });
});
