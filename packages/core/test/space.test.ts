import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLocalStorage } from "../../storage-local/src/index.js";
import { packToFile } from "../src/archive/pack/pack-file.js";
import {
  type ActivityEvent,
  archiveKey,
  type BackupManagerOptions,
  type BackupRecord,
  createBackupManager,
  createMemoryStorage,
  formatBytes,
  freeSpace,
  manifestKey,
  type OperationProgress,
  type StorageAdapter,
} from "../src/index.js";
import { checkRestoreSpace, scannedRestoreSize } from "../src/manager/space.js";
import { keysOf, readTree, tempDirs, writeTree } from "./fixtures/manager-helpers.js";

// Counts the walks that measure a source, to tell whether the space check measured one.
const measured = vi.hoisted(() => ({ walks: 0 }));
vi.mock("../src/io/source-size.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/io/source-size.js")>();
  return {
    ...original,
    measureTree: (...args: Parameters<typeof original.measureTree>) => {
      measured.walks++;
      return original.measureTree(...args);
    },
  };
});

const SERVER = "srv-space";
const KiB = 1024;
const MiB = 1024 * KiB;
const run = promisify(execFile);
const dirs = tempDirs();
const mounts: string[] = [];
afterEach(async () => {
  for (const dir of mounts.splice(0)) await run("umount", [dir]);
  await dirs.cleanup();
});

/**
 * A fresh tmpfs of `size` bytes when this machine lets the test mount one (it runs as root in CI);
 * `undefined` otherwise, and each test then injects the failure instead.
 */
async function smallVolume(size: number): Promise<string | undefined> {
  const dir = await dirs.make("tmpfs");
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  } catch {
    return undefined;
  }
  mounts.push(dir);
  return dir;
}

/** `inner` reporting `free()` as its free space: a local storage as far as the manager can tell. */
function withFreeSpace(inner: StorageAdapter, free: () => number): StorageAdapter {
  return {
    name: inner.name,
    put: (key, body, options) => inner.put(key, body, options),
    get: (key, options) => inner.get(key, options),
    stat: (key) => inner.stat(key),
    delete: (key) => inner.delete(key),
    list: (prefix) => inner.list(prefix),
    freeSpace: async () => free(),
  };
}

/** `inner` without `freeSpace`: no check up front, so only the disk itself can refuse. */
function withoutFreeSpace(inner: StorageAdapter): StorageAdapter {
  const { freeSpace: _hidden, ...rest } = inner;
  return { ...rest, name: inner.name };
}

async function setup(files: Record<string, string | Buffer>, options: Partial<BackupManagerOptions>) {
  const dir = await dirs.make("space");
  const root = join(dir, "servers", SERVER);
  await writeTree(root, files);
  const events: ActivityEvent[] = [];
  const progress: OperationProgress[] = [];
  const hooked: string[] = [];
  const manager = createBackupManager({
    storage: createMemoryStorage(),
    serverRoot: () => root,
    onActivity: (event) => {
      events.push(event);
    },
    onProgress: (report) => progress.push(report),
    hooks: {
      beforeBackup: () => {
        hooked.push("beforeBackup");
      },
      afterBackup: () => {
        hooked.push("afterBackup");
      },
    },
    ...options,
  });
  return { dir, root, manager, events, progress, hooked };
}

async function backup(manager: ReturnType<typeof createBackupManager>, name?: string) {
  const started = await manager.create(SERVER, { ignored: ["*.log", "cache/"], ...(name ? { name } : {}) });
  return manager.wait(SERVER, started.uuid);
}

describe("space check before a backup into a local storage", () => {
  it("refuses with how much the archive needs and how much is free, before any hook or byte", async () => {
    const storage = withFreeSpace(createMemoryStorage(), () => 1000);
    const { manager, hooked } = await setup(
      { "world/region.mca": randomBytes(64 * KiB), "logs/latest.log": randomBytes(MiB) },
      { storage },
    );
    const done = await backup(manager, "Nightly");
    expect(done).toMatchObject({ is_successful: false });
    expect(done.error).toBe(
      `Not enough disk space for backup "Nightly" of server ${SERVER}: it needs about 64 KiB on the volume ` +
        "of the memory storage, which has 1000 B free. Free up 63 KiB or use another disk.",
    );
    expect(hooked).toEqual([]);
    expect(await keysOf(storage)).toEqual([manifestKey(SERVER, done.uuid)]);
  });

  it("counts only what the ignore rules leave in, and reports that as the total to pack", async () => {
    const storage = withFreeSpace(createMemoryStorage(), () => 100 * KiB);
    const { manager, progress, hooked } = await setup(
      {
        "world/region.mca": randomBytes(64 * KiB),
        "logs/latest.log": randomBytes(MiB),
        "cache/blob": randomBytes(MiB),
        ".pteroignore": "*.tmp\n",
        "save.tmp": randomBytes(MiB),
      },
      { storage },
    );
    const walks = measured.walks;
    const done = await backup(manager);
    const kept = 64 * KiB + 6;
    // One walk, the space check's: its size serves as the progress total too.
    expect(measured.walks).toBe(walks + 1);
    expect(done).toMatchObject({ is_successful: true, source_bytes: kept, files: 2 });
    expect(hooked).toEqual(["beforeBackup", "afterBackup"]);
    expect(progress.at(-1)).toMatchObject({ operation: "backup", bytes: kept, totalBytes: kept });
  });

  it("expects the archive to shrink as much as the server's previous backup did", async () => {
    let free = Number.MAX_SAFE_INTEGER;
    const storage = withFreeSpace(createMemoryStorage(), () => free);
    // The walks made before the before-hook are the space check's (progress's own walk starts after it).
    let walksBeforeHook: number | undefined;
    const hooks = {
      beforeBackup: () => {
        walksBeforeHook = measured.walks;
      },
    };
    const { manager } = await setup({ "world/flat.dat": Buffer.alloc(2 * MiB) }, { storage, hooks });
    const walks = measured.walks;
    const first = await backup(manager);
    expect(first.bytes).toBeLessThan(64 * KiB);
    // More free than the source's whole volume holds: the source was not even measured.
    expect(walksBeforeHook).toBe(walks);
    // 2 MiB of zeros packs into a few KiB: judged by its raw size, 64 KiB would be refused.
    free = 64 * KiB;
    expect(await backup(manager)).toMatchObject({ is_successful: true });
  });
});

describe("space check before a restore", () => {
  async function withBackup(extra: Partial<BackupManagerOptions> = {}) {
    const context = await setup({ "a.txt": "a", "big/zeros.bin": Buffer.alloc(3 * MiB) }, extra);
    const record = await backup(context.manager);
    expect(record).toMatchObject({ is_successful: true, source_bytes: 3 * MiB + 1, files: 2 });
    return { ...context, record };
  }

  it("refuses up front, from the sizes in the record, saying how much is needed and free", async () => {
    const storage = createMemoryStorage();
    const { manager, root, record, events } = await withBackup({ storage });
    const huge: BackupRecord = { ...record, source_bytes: 2 ** 50 };
    await storage.put(manifestKey(SERVER, record.uuid), Readable.from([Buffer.from(JSON.stringify(huge))]));
    await writeTree(root, { "a.txt": "changed" });
    type SpaceError = { code: string; message: string; details: { free: number } };
    const error = (await manager
      .restore(SERVER, record.uuid, { truncate: true })
      .catch((e: unknown) => e)) as SpaceError;
    expect(error).toMatchObject({ code: "INSUFFICIENT_SPACE", details: { needed: 2 ** 50 + 2 * 2048 } });
    expect(error.message).toBe(
      `Not enough disk space for restoring backup "${record.name}": it needs about 1024 TiB on the volume ` +
        `of ${root}, which has ${formatBytes(error.details.free)} free. ` +
        `Free up ${formatBytes(2 ** 50 + 4096 - error.details.free)} or use another disk.`,
    );
    expect(events.map((event) => event.event)).not.toContain("server:backup.restore");
    expect((await readTree(root))["a.txt"]).toBe("changed");
    expect(manager.isBusy(SERVER)).toBe(false);
  });

  it("reads the size of an older backup from its archive, against the target's volume", async () => {
    const storage = createMemoryStorage();
    const { record, events, dir } = await withBackup({ storage });
    const { source_bytes: _bytes, files: _files, ...older } = record;
    await storage.put(manifestKey(SERVER, record.uuid), Readable.from([Buffer.from(JSON.stringify(older))]));
    const volume = await smallVolume(2 * MiB);
    if (volume) {
      // The archive is a few KiB, but its 3 MiB of zeros cannot fit in 2 MiB.
      await writeFile(join(volume, "kept.txt"), "previous");
      const scanning = createBackupManager({ storage, serverRoot: () => volume });
      await expect(scanning.restore(SERVER, record.uuid, { truncate: true })).rejects.toMatchObject({
        code: "INSUFFICIENT_SPACE",
        message: expect.stringMatching(/needs about 3\.0 MiB on the volume of .*, which has 2\.0 MiB free/),
      });
      expect(await readdir(volume)).toEqual(["kept.txt"]);
    } else {
      // No mount here: check the same two steps against a need no disk has.
      const needed = await scannedRestoreSize(
        { storage } as Parameters<typeof scannedRestoreSize>[0],
        older as BackupRecord,
        new AbortController().signal,
      );
      expect(needed).toBe(3 * MiB + 1 + 2 * 2048);
      await expect(checkRestoreSpace(dir, record, (await freeSpace(dir)) + MiB)).rejects.toMatchObject({
        code: "INSUFFICIENT_SPACE",
      });
    }
    expect(events.filter((event) => event.event.includes("restore"))).toEqual([]);
  });
});

describe("a disk that fills up anyway", () => {
  it("fails a backup cleanly: no archive, no temp file, a failed record that says so", async () => {
    const volume = await smallVolume(2 * MiB);
    const local = createLocalStorage({ root: volume ?? (await dirs.make("store")) });
    const storage = volume ? withoutFreeSpace(local) : injectNoSpace(withoutFreeSpace(local), MiB);
    const { manager } = await setup({ "world/region.mca": randomBytes(3 * MiB) }, { storage });
    const done = await backup(manager);
    expect(done).toMatchObject({
      is_successful: false,
      error: "The storage disk is full; free space and try again.",
    });
    expect(await keysOf(local)).toEqual([manifestKey(SERVER, done.uuid)]);
    const stored = await readdir(local.root, { recursive: true });
    expect(stored.sort()).toEqual([SERVER, `${SERVER}/${done.uuid}.json`]);
    expect(await local.stat(archiveKey(SERVER, done.uuid))).toBeUndefined();
  });

  it("says what was needed and what is free when the disk fills after the check passed", async () => {
    // The check sees 4 MiB free; by the time the archive is written, something else took the space.
    const readings = [4 * MiB, 100 * KiB];
    const storage = withFreeSpace(
      injectNoSpace(createMemoryStorage(), MiB),
      () => readings.shift() ?? 100 * KiB,
    );
    const { manager } = await setup({ "world/region.mca": randomBytes(3 * MiB) }, { storage });
    const done = await backup(manager);
    expect(done.is_successful).toBe(false);
    expect(done.error).toBe(
      `Not enough disk space for backup "${done.name}" of server ${SERVER}: it needs about 3.0 MiB on the ` +
        "volume of the memory storage, which has 100 KiB free. Free up 2.9 MiB or use another disk.",
    );
  });

  it("says what is free when a restore fills the disk and no size was known up front", async () => {
    const storage = createMemoryStorage();
    const { record } = await setup({ "big/random.bin": randomBytes(3 * MiB) }, { storage }).then(
      async (c) => ({
        record: await backup(c.manager),
      }),
    );
    const target = await dirs.make("target-full");
    const restoring = createBackupManager({ storage: injectNoSpace(storage, MiB), serverRoot: () => target });
    const error = await restoring
      .restore(SERVER, record.uuid, { truncate: true, only: ["big"] })
      .catch((e: unknown) => e);
    const free = await freeSpace(target);
    expect(error).toMatchObject({ code: "INSUFFICIENT_SPACE", details: { needed: expect.any(Number) } });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Not enough disk space for restoring backup "${record.name}": the volume of ${target} filled up`,
      ),
    );
    expect(free).toBeGreaterThan(0);
  });

  it("fails a restore cleanly: previous contents intact, no staging left", async () => {
    const storage = createMemoryStorage();
    const { record, events } = await setup(
      { "a.txt": "a", "big/random.bin": randomBytes(3 * MiB) },
      { storage },
    ).then(async (context) => ({ ...context, record: await backup(context.manager) }));
    const volume = await smallVolume(2 * MiB);
    const target = volume ?? (await dirs.make("target"));
    await writeTree(target, { "a.txt": "previous", "big/random.bin": "previous" });
    const restoring = createBackupManager({
      storage: volume ? storage : injectNoSpace(storage, MiB),
      serverRoot: () => target,
      onActivity: (event) => {
        events.push(event);
      },
    });
    // `only` skips the check up front, so the disk itself runs out.
    const error = await restoring
      .restore(SERVER, record.uuid, { truncate: true, only: ["big"] })
      .catch((e: { code: string }) => e);
    expect(error).toMatchObject({ code: "INSUFFICIENT_SPACE" });
    expect(await readTree(target)).toEqual({ "a.txt": "previous", "big/random.bin": "previous" });
    expect(await readdir(target)).toEqual(["a.txt", "big"]);
    expect(events.at(-1)?.event).toBe("server:backup.restore-fail");
  });

  it("leaves no partial archive when packing to a file fills the disk", async () => {
    const volume = await smallVolume(2 * MiB);
    const dir = await dirs.make("pack-full");
    await writeTree(join(dir, "src"), { "r.bin": randomBytes(3 * MiB) });
    if (!volume) {
      expect(volume).toBeUndefined();
      return;
    }
    await expect(packToFile(join(dir, "src"), join(volume, "a.tar.gz"))).rejects.toMatchObject({
      code: "INSUFFICIENT_SPACE",
    });
    expect(await readdir(volume)).toEqual([]);
  });
});

/**
 * `inner`, except that an archive's bytes fail with `ENOSPC` after `after` bytes: the error a full disk
 * gives, for machines where no small volume can be mounted.
 */
function injectNoSpace(inner: StorageAdapter, after: number): StorageAdapter {
  const fail = async function* (body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let seen = 0;
    for await (const chunk of body) {
      seen += chunk.byteLength;
      if (seen > after) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      yield chunk;
    }
  };
  const archive = (key: string) => key.endsWith(".tar.gz");
  return {
    name: inner.name,
    put: (key, body, options) => inner.put(key, archive(key) ? fail(body) : body, options),
    get: async (key, options) => {
      const stream = await inner.get(key, options);
      return archive(key) ? (Readable.from(fail(stream)) as typeof stream) : stream;
    },
    stat: (key) => inner.stat(key),
    delete: (key) => inner.delete(key),
    list: (prefix) => inner.list(prefix),
  };
}
