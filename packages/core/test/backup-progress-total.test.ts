import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createBackupManager, createMemoryStorage, type OperationProgress } from "../src/index.js";
import type { TreeSize } from "../src/io/source-size.js";
import { stallArchives, tempDirs, writeTree } from "./fixtures/manager-helpers.js";

// Each walk measuring a source is counted and handed to whoever waits for the next, so a test waits for
// the walk itself instead of for time.
const walks = vi.hoisted(() => {
  let waiting: ((walk: Promise<TreeSize>) => void)[] = [];
  return {
    count: 0,
    next: () => new Promise<Promise<TreeSize>>((resolve) => waiting.push(resolve)),
    started(walk: Promise<TreeSize>) {
      walks.count++;
      for (const resolve of waiting) resolve(walk);
      waiting = [];
    },
  };
});
vi.mock("../src/io/source-size.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/io/source-size.js")>();
  return {
    ...original,
    measureTree: (...args: Parameters<typeof original.measureTree>) => {
      const walk = original.measureTree(...args);
      walks.started(walk);
      return walk;
    },
  };
});

const SERVER = "srv-total";
const MiB = 1024 * 1024;
const dirs = tempDirs();
afterEach(() => dirs.cleanup());

/** A server folder of 8 MiB that stays in (incompressible, so packing it takes a while) and some that is ignored. */
async function serverFolder(): Promise<{ root: string; kept: number }> {
  const root = join(await dirs.make("total"), SERVER);
  await writeTree(root, {
    ".pteroignore": "*.tmp\n",
    "world/region.mca": randomBytes(8 * MiB),
    "logs/latest.log": "log line\n",
    "save.tmp": randomBytes(MiB),
  });
  return { root, kept: 8 * MiB + "*.tmp\n".length + "log line\n".length };
}

describe("a backup's progress total", () => {
  it("is the size of what the ignore rules leave in, measured beside the pack on a storage with no space check", async () => {
    const { root, kept } = await serverFolder();
    // A memory storage reports no free space: the space check measures nothing.
    const { storage, uploading, release } = stallArchives(createMemoryStorage());
    const progress: OperationProgress[] = [];
    const manager = createBackupManager({
      storage,
      serverRoot: () => root,
      onProgress: (report) => progress.push(report),
    });
    try {
      const walk = walks.next();
      const started = await manager.create(SERVER);
      // The pack holds still mid-way until the walk has measured the source.
      await uploading;
      expect(await await walk).toEqual({ bytes: kept, files: 3 });
      release();
      const record = await manager.wait(SERVER, started.uuid);

      expect(record).toMatchObject({ is_successful: true, source_bytes: kept });
      expect(progress.at(-1)).toMatchObject({ operation: "backup", bytes: kept, totalBytes: kept });
      expect(progress.every((report) => report.totalBytes === undefined || report.totalBytes === kept)).toBe(
        true,
      );
    } finally {
      await manager.close();
    }
  });

  it("is not measured when nobody listens for progress", async () => {
    const { root, kept } = await serverFolder();
    const manager = createBackupManager({ storage: createMemoryStorage(), serverRoot: () => root });
    try {
      const before = walks.count;
      const started = await manager.create(SERVER);
      const record = await manager.wait(SERVER, started.uuid);

      expect(record).toMatchObject({ is_successful: true, source_bytes: kept });
      expect(walks.count).toBe(before);
    } finally {
      await manager.close();
    }
  });
});
