import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ActivityEvent,
  type BackupCatalog,
  type BackupManager,
  type BackupRecord,
  createBackupManager,
  createManifestCatalog,
  createMemoryStorage,
  type StorageAdapter,
} from "../src/index.js";
import { deferred, stallArchives, tempDirs, writeTree } from "./fixtures/manager-helpers.js";

const SERVERS = ["srv-a", "srv-b", "srv-c"];
const dirs = tempDirs();
const managers: BackupManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  await dirs.cleanup();
});

async function setup(
  storage: StorageAdapter,
  options: { maxConcurrent?: number; catalog?: BackupCatalog; heartbeatMs?: number } = {},
) {
  const dir = await dirs.make("queue");
  for (const server of SERVERS) await writeTree(join(dir, server), { "a.txt": server });
  const events: ActivityEvent[] = [];
  const hooked: string[] = [];
  const make = (host: string) => {
    const manager = createBackupManager({
      storage,
      host,
      serverRoot: (server) => join(dir, server),
      onActivity: (event) => {
        events.push(event);
      },
      hooks: {
        beforeBackup: ({ server }) => {
          hooked.push(server);
        },
      },
      ...options,
    });
    managers.push(manager);
    return manager;
  };
  return { manager: make("node-a"), make, events, hooked };
}

describe("the node-wide limit on operations running at once", () => {
  it("queues backups beyond maxConcurrent in order, records them in progress at once, and runs them one by one", async () => {
    const stalling = stallArchives(createMemoryStorage());
    const { manager, events, hooked } = await setup(stalling.storage, { maxConcurrent: 1 });
    const first = await manager.create("srv-a");
    await stalling.uploading;
    const second = await manager.create("srv-b");
    const third = await manager.create("srv-c");
    for (const queued of [second, third]) {
      expect(await manager.get(queued.server, queued.uuid)).toMatchObject({ completed_at: null });
      expect(manager.activeOperation(queued.server)).toEqual({ operation: "backup", backup: queued.uuid });
    }
    // Queued ones have not started: only the first reached its before-hook.
    expect(hooked).toEqual(["srv-a"]);
    expect(events.map((event) => event.event)).toEqual([
      "server:backup.start",
      "server:backup.start",
      "server:backup.start",
    ]);
    stalling.release();
    const done = await Promise.all([first, second, third].map((b) => manager.wait(b.server, b.uuid)));
    expect(done.map((record) => record.is_successful)).toEqual([true, true, true]);
    expect(hooked).toEqual(["srv-a", "srv-b", "srv-c"]);
    const completed = events.filter((event) => event.event === "server:backup.complete");
    expect(completed.map((event) => event.server)).toEqual(["srv-a", "srv-b", "srv-c"]);
  });

  it("cancels a queued backup without running it: failed, cancelled, its hooks never called", async () => {
    const stalling = stallArchives(createMemoryStorage());
    const { manager, hooked } = await setup(stalling.storage, { maxConcurrent: 1 });
    const running = await manager.create("srv-a");
    await stalling.uploading;
    const queued = await manager.create("srv-b");
    expect(await manager.cancel("srv-b", queued.uuid)).toMatchObject({
      is_successful: false,
      error: "cancelled",
      completed_at: expect.any(String),
    });
    expect(manager.isBusy("srv-b")).toBe(false);
    stalling.release();
    expect(await manager.wait("srv-a", running.uuid)).toMatchObject({ is_successful: true });
    expect(hooked).toEqual(["srv-a"]);
  });

  it("lets a queued backup be locked, and keeps the lock in its final record", async () => {
    const stalling = stallArchives(createMemoryStorage());
    const { manager } = await setup(stalling.storage, { maxConcurrent: 1 });
    const running = await manager.create("srv-a");
    await stalling.uploading;
    const queued = await manager.create("srv-b");
    expect(await manager.setLocked("srv-b", queued.uuid, true)).toMatchObject({ is_locked: true });
    stalling.release();
    await manager.wait("srv-a", running.uuid);
    expect(await manager.wait("srv-b", queued.uuid)).toMatchObject({ is_successful: true, is_locked: true });
  });

  it("keeps a queued backup's record fresh, so another process neither recovers it nor starts a backup of it", async () => {
    const memory = createMemoryStorage();
    const stalling = stallArchives(memory);
    const inner = createManifestCatalog(memory);
    const refreshed = deferred<BackupRecord>();
    let queuedUuid: string | undefined;
    const catalog: BackupCatalog = {
      ...inner,
      async put(record) {
        await inner.put(record);
        // A refresh of the queued record: written again while still in progress, with a newer heartbeat.
        if (record.uuid === queuedUuid && record.completed_at === null) refreshed.resolve(record);
      },
    };
    const { manager, make } = await setup(stalling.storage, { maxConcurrent: 1, catalog, heartbeatMs: 5 });
    const running = await manager.create("srv-a");
    await stalling.uploading;
    const queued = await manager.create("srv-b");
    queuedUuid = queued.uuid;
    const refresh = await refreshed.promise;
    expect(refresh.owner).toMatchObject({ host: "node-a", pid: process.pid });
    expect(Date.parse(refresh.owner!.heartbeat_at)).toBeGreaterThanOrEqual(
      Date.parse(queued.owner!.heartbeat_at),
    );

    const other = make("node-b");
    expect(await other.recover()).toEqual([]);
    await expect(other.create("srv-b")).rejects.toMatchObject({ code: "SERVER_STATE_CONFLICT" });
    stalling.release();
    await manager.wait("srv-a", running.uuid);
    expect(await manager.wait("srv-b", queued.uuid)).toMatchObject({ is_successful: true });
  });

  it("refuses a maxConcurrent that is not a whole number of at least 1", () => {
    for (const maxConcurrent of [0, -1, 1.5, Number.NaN]) {
      expect(() =>
        createBackupManager({ storage: createMemoryStorage(), serverRoot: () => "/", maxConcurrent }),
      ).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    }
  });
});
