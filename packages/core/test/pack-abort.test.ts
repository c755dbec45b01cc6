import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { pack } from "../src/archive/pack/pack.js";
import { packToFile } from "../src/archive/pack/pack-file.js";
import { PACK_BLOCK_SIZE, PACK_BLOCKS_IN_FLIGHT } from "../src/archive/pack/pack-worker-protocol.js";
import { isStrongboxError } from "../src/errors.js";
import { tarList, useTempDirs } from "./helpers/tree.js";

const tempDir = useTempDirs();

/** Bigger than the worker may run ahead, so the first progress report comes before the end. */
async function buildBigTree(root: string): Promise<void> {
  const size = (PACK_BLOCKS_IN_FLIGHT + 4) * PACK_BLOCK_SIZE;
  await writeFile(join(root, "big"), Buffer.from(Array.from({ length: size }, (_, i) => (i * 13) % 256)));
  await writeFile(join(root, "small"), "small");
}

const isAborted = (error: unknown) => isStrongboxError(error, "ABORTED");

describe("abort", () => {
  test("packToFile aborted mid-pack rejects ABORTED and leaves neither the file nor a temporary one", async () => {
    const root = await tempDir();
    const out = await tempDir();
    await buildBigTree(root);
    const controller = new AbortController();

    const packing = packToFile(root, join(out, "backup.tar.gz"), {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });

    await expect(packing).rejects.toSatisfy(isAborted);
    expect(await readdir(out)).toEqual([]);
  });

  test("an already aborted signal stops before anything is written", async () => {
    const root = await tempDir();
    const out = await tempDir();
    await buildBigTree(root);
    const reason = new Error("user pressed stop");

    const packing = packToFile(root, join(out, "backup.tar.gz"), { signal: AbortSignal.abort(reason) });

    await expect(packing).rejects.toSatisfy((e) => isAborted(e) && (e as Error).cause === reason);
    expect(await readdir(out)).toEqual([]);
  });

  test("aborting pack() errors the stream and rejects the result with ABORTED", async () => {
    const root = await tempDir();
    await buildBigTree(root);
    const controller = new AbortController();
    const { stream, result } = pack(root, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });

    const streamError = new Promise((resolve) => stream.once("error", resolve));
    stream.resume();

    expect(isAborted(await streamError)).toBe(true);
    await expect(result).rejects.toSatisfy(isAborted);
  });

  test("destroying the stream before its end rejects the result with ABORTED", async () => {
    const root = await tempDir();
    await buildBigTree(root);
    const { stream, result } = pack(root);
    stream.once("data", () => stream.destroy());
    await expect(result).rejects.toSatisfy(isAborted);
  });

  test("a callback that throws fails the pack with its error", async () => {
    const root = await tempDir();
    const out = await tempDir();
    await buildBigTree(root);
    const bug = new Error("listener bug");
    const packing = packToFile(root, join(out, "x.tar.gz"), {
      onProgress: () => {
        throw bug;
      },
    });
    await expect(packing).rejects.toBe(bug);
    expect(await readdir(out)).toEqual([]);
  });
});

describe("event loop", () => {
  test("timers keep firing while a few thousand files are packed", async () => {
    const root = await tempDir();
    for (let d = 0; d < 30; d++) {
      const dir = join(root, `dir-${d}`);
      await mkdir(dir);
      await Promise.all(
        Array.from({ length: 100 }, (_, f) =>
          writeFile(join(dir, `file-${f}.txt`), `${d}/${f} `.repeat(100)),
        ),
      );
    }
    let ticks = 0;
    let ticksAtFirstBlock: number | undefined;
    const timer = setInterval(() => ticks++, 1);
    try {
      const archive = join(await tempDir(), "many.tar.gz");
      const result = await packToFile(root, archive, {
        onProgress: () => {
          ticksAtFirstBlock ??= ticks;
        },
      });
      expect(result.files).toBe(3000);
      expect((await tarList(archive)).names).toHaveLength(3030);
    } finally {
      clearInterval(timer);
    }
    expect(ticksAtFirstBlock).toBeDefined();
    expect(ticks).toBeGreaterThan(ticksAtFirstBlock!);
  });
});
