import { mkdtemp, rm, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureSpace, formatBytes, freeSpace, statfsNearest } from "../src/io/disk-space.js";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("disk space", () => {
  it.each([
    [0, "0 B"],
    [512, "512 B"],
    [1536, "1.5 KiB"],
    [300 * 1024 ** 2, "300 MiB"],
    [1.25 * 1024 ** 3, "1.3 GiB"],
  ])("formats %d as %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it("reads the volume of a folder that does not exist yet from its nearest parent", async () => {
    dir = await mkdtemp(join(tmpdir(), "strongbox-space-"));
    // Free space moves while other tests write; the volume's size and type do not.
    const missing = await statfsNearest(join(dir, "not", "yet"));
    const parent = await statfs(dir);
    expect([missing.type, missing.blocks, missing.bsize]).toEqual([parent.type, parent.blocks, parent.bsize]);
    expect(await freeSpace(join(dir, "not", "yet"))).toBeGreaterThan(0);
  });

  it("fails on a path below a file instead of guessing a volume", async () => {
    dir = await mkdtemp(join(tmpdir(), "strongbox-space-"));
    await writeFile(join(dir, "file"), "x");
    await expect(statfsNearest(join(dir, "file", "below"))).rejects.toMatchObject({ code: "ENOTDIR" });
  });

  it("refuses with how much is needed and how much is free", async () => {
    dir = await mkdtemp(join(tmpdir(), "strongbox-space-"));
    const free = await freeSpace(dir);
    await expect(ensureSpace(dir, 1024, "the backup")).resolves.toBeUndefined();
    const error = await ensureSpace(dir, free + 1024 ** 5, "the backup").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INSUFFICIENT_SPACE", details: { needed: free + 1024 ** 5 } });
    expect((error as Error).message).toMatch(/needs about 1\.0 PiB|needs about \d+ TiB/);
    expect((error as Error).message).toContain(
      `which has ${formatBytes((error as { details: { free: number } }).details.free)} free`,
    );
  });
});
