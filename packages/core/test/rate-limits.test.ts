import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { packToFile } from "../src/archive/pack/pack-file.js";
import {
  type BackupManager,
  type BackupManagerOptions,
  createBackupManager,
  createMemoryStorage,
  createRateLimiter,
  extract,
  migrateBackups,
  type RateLimiter,
  type StorageAdapter,
} from "../src/index.js";
import { deferred, readTree, tempDirs, writeTree } from "./fixtures/manager-helpers.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const dirs = tempDirs();
afterEach(() => dirs.cleanup());

/**
 * A limiter on a virtual clock: waiting moves time forward at once, so accuracy is measured over
 * "seconds" that cost nothing, while the bytes are real. `taken` counts what went through.
 */
function virtualLimiter(rate: number) {
  let now = 0;
  let taken = 0;
  const limiter = createRateLimiter(rate, {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  });
  const counting: RateLimiter = {
    get bytesPerSecond() {
      return limiter.bytesPerSecond;
    },
    setRate: (next) => limiter.setRate(next),
    take: (bytes, signal) => {
      taken += bytes;
      return limiter.take(bytes, signal);
    },
  };
  return { limiter: counting, taken: () => taken, seconds: () => now / 1000 };
}

const within10Percent = (achieved: number, rate: number) => {
  expect(achieved / rate).toBeGreaterThan(0.9);
  expect(achieved / rate).toBeLessThan(1.1);
};

describe("archive streams through limiters", () => {
  it("holds the read rate of a pack and the write rate of an extract within 10%, on the same tar bytes", async () => {
    const dir = await dirs.make("rate-archive");
    const files = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`d/f${i}.bin`, randomBytes(MiB)]));
    await writeTree(join(dir, "src"), files);
    const read = virtualLimiter(2 * MiB);
    const result = await packToFile(join(dir, "src"), join(dir, "a.tar.gz"), {
      readLimiters: [read.limiter],
    });
    expect(read.taken()).toBeGreaterThan(result.sourceBytes);
    within10Percent(read.taken() / read.seconds(), 2 * MiB);

    const write = virtualLimiter(3 * MiB);
    await extract(createReadStream(join(dir, "a.tar.gz")), join(dir, "out"), {
      writeLimiters: [write.limiter],
    });
    // Uncompressed bytes are limited on restore: the very tar stream the pack read, nothing less.
    expect(write.taken()).toBe(read.taken());
    within10Percent(write.taken() / write.seconds(), 3 * MiB);
    expect(Object.keys(await readTree(join(dir, "out")))).toHaveLength(8);
  });
});

describe("manager rate limits", () => {
  async function twoServers(options: Partial<BackupManagerOptions>, bytes: number) {
    const dir = await dirs.make("rate-manager");
    for (const server of ["srv-a", "srv-b"]) {
      await writeTree(join(dir, server), { "world.bin": randomBytes(bytes) });
    }
    const manager = createBackupManager({
      storage: createMemoryStorage(),
      serverRoot: (server) => join(dir, server),
      ...options,
    });
    return { dir, manager };
  }

  async function backupBoth(manager: BackupManager) {
    const started = await Promise.all(["srv-a", "srv-b"].map((server) => manager.create(server)));
    return Promise.all(started.map((record) => manager.wait(record.server, record.uuid)));
  }

  it("shares one read budget between the backups of two servers", async () => {
    const { manager } = await twoServers({ rateLimits: { read: 3 * MiB } }, 1.5 * MiB);
    const start = performance.now();
    const done = await backupBoth(manager);
    const seconds = (performance.now() - start) / 1000;
    expect(done.map((record) => record.is_successful)).toEqual([true, true]);
    // 3 MiB of tar at 3 MiB/s, less the 0.1 s burst, cannot take less than 0.9 s in all; two separate
    // budgets would finish in under half of that.
    expect(seconds).toBeGreaterThan(0.85);
    expect(manager.rateLimits()).toEqual({ read: 3 * MiB });
  });

  it("lifts a limit at run time for the backup already running", async () => {
    const reached = deferred();
    const inner = createMemoryStorage();
    const storage: StorageAdapter = {
      ...inner,
      name: inner.name,
      put: (key, body, options) => {
        if (key.endsWith(".tar.gz")) reached.resolve();
        return inner.put(key, body, options);
      },
    };
    const dir = await dirs.make("rate-runtime");
    await writeTree(join(dir, "srv-a"), { "world.bin": randomBytes(4 * MiB) });
    const manager = createBackupManager({
      storage,
      serverRoot: (server) => join(dir, server),
      rateLimits: { read: 512 * KiB, upload: 0 },
    });
    expect(manager.rateLimits()).toEqual({ read: 512 * KiB });
    const start = performance.now();
    const started = await manager.create("srv-a");
    await reached.promise;
    manager.setRateLimits({});
    const done = await manager.wait("srv-a", started.uuid);
    expect(done.is_successful).toBe(true);
    expect(manager.rateLimits()).toEqual({});
    // At 512 KiB/s the 4 MiB would have needed more than 7.5 s.
    expect((performance.now() - start) / 1000).toBeLessThan(7.5);
  }, 20_000);

  it("limits a restore's uncompressed bytes, not the few archive bytes they came from", async () => {
    const dir = await dirs.make("rate-restore");
    await writeTree(join(dir, "srv-a"), { "zeros.bin": Buffer.alloc(6 * MiB) });
    const manager = createBackupManager({
      storage: createMemoryStorage(),
      serverRoot: (server) => join(dir, server),
    });
    const record = await manager.wait("srv-a", (await manager.create("srv-a")).uuid);
    expect(record.bytes).toBeLessThan(64 * KiB);
    manager.setRateLimits({ write: 4 * MiB });
    const start = performance.now();
    await manager.restore("srv-a", record.uuid, { truncate: true });
    // 6 MiB at 4 MiB/s, less the 0.1 s burst: at least 1.4 s. The archive alone would pass at once.
    expect((performance.now() - start) / 1000).toBeGreaterThan(1.3);
  });

  it("reads a verification's and a drill's archive within the manager's read budget", async () => {
    const { manager } = await twoServers({}, 3 * MiB);
    const record = await manager.wait("srv-a", (await manager.create("srv-a")).uuid);
    expect(record.bytes).toBeGreaterThan(3 * MiB);
    manager.setRateLimits({ read: 4 * MiB });
    for (const check of [
      () => manager.verify("srv-a", record.uuid),
      () => manager.drill("srv-a", record.uuid),
    ]) {
      const start = performance.now();
      await check();
      // 3 MiB of archive at 4 MiB/s, less the 0.1 s burst: at least 0.65 s; unlimited it takes a few ms.
      expect((performance.now() - start) / 1000).toBeGreaterThan(0.6);
    }
  });

  it("applies an operation's own limit on top of an unlimited manager, and refuses bad limits", async () => {
    const { manager } = await twoServers({}, 2 * MiB);
    await expect(manager.create("srv-a", { rateLimit: -1 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(() => manager.setRateLimits({ read: Number.NaN })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    const storage = createMemoryStorage();
    expect(() =>
      createBackupManager({ storage, serverRoot: () => "/srv", rateLimits: { upload: "50M" as never } }),
    ).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    const start = performance.now();
    const started = await manager.create("srv-a", { rateLimit: { read: 4 * MiB } });
    expect(await manager.wait("srv-a", started.uuid)).toMatchObject({ is_successful: true });
    // 2 MiB at 4 MiB/s, less the burst.
    expect((performance.now() - start) / 1000).toBeGreaterThan(0.35);
  });

  it("limits what a migration puts into its target, shared by its parallel copies", async () => {
    const from = createMemoryStorage();
    const { manager } = await twoServers({ storage: from }, 1.5 * MiB);
    await backupBoth(manager);
    const start = performance.now();
    const summary = await migrateBackups({ from, to: createMemoryStorage(), rateLimit: 3 * MiB });
    expect(summary).toMatchObject({ copied: 2, failed: [] });
    // 3 MiB of archives at 3 MiB/s (a memory target counts as upload), less the burst.
    expect((performance.now() - start) / 1000).toBeGreaterThan(0.85);
    await expect(migrateBackups({ from, to: createMemoryStorage(), rateLimit: -5 })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });
});
