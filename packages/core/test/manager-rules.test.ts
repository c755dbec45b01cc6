import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLocalStorage } from "../../storage-local/src/index.js";
import {
  type ActivityEvent,
  type Actor,
  archiveKey,
  type BackupManagerOptions,
  type BackupPolicy,
  createBackupManager,
  createMemoryStorage,
  manifestKey,
  type OperationProgress,
  type PolicyInput,
  type StorageAdapter,
} from "../src/index.js";
import {
  keysOf,
  readTree,
  stallArchives,
  steppingClock,
  tempDirs,
  writeTree,
} from "./fixtures/manager-helpers.js";

const SERVER = "srv-1";
const ADMIN: Actor = { id: "user-1", permissions: ["backup.create", "backup.delete"] };

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

async function setup(
  extra: Partial<BackupManagerOptions> = {},
  storage: StorageAdapter = createMemoryStorage(),
) {
  const dir = await dirs.make("manager-rules");
  await writeTree(join(dir, SERVER), { "a.txt": "alpha", "sub/b.txt": "beta" });
  const events: ActivityEvent[] = [];
  const manager = createBackupManager({
    storage,
    serverRoot: (server) => join(dir, server),
    onActivity: (event) => {
      events.push(event);
    },
    now: steppingClock(),
    ...extra,
  });
  return { dir, storage, manager, events };
}

async function backup(manager: ReturnType<typeof createBackupManager>, name?: string) {
  const { uuid } = await manager.create(SERVER, name === undefined ? {} : { name });
  return manager.wait(SERVER, uuid);
}

describe("listing", () => {
  it("pages newest first with the panel's pagination meta", async () => {
    const { manager } = await setup();
    const made = [await backup(manager, "one"), await backup(manager, "two"), await backup(manager, "three")];

    const first = await manager.list(SERVER, { perPage: 2 });
    expect(first.data.map((record) => record.name)).toEqual(["three", "two"]);
    expect(first.pagination).toEqual({ total: 3, count: 2, per_page: 2, current_page: 1, total_pages: 2 });
    expect(first.backup_count).toBe(3);

    const second = await manager.list(SERVER, { perPage: 2, page: 2 });
    expect(second.data.map((record) => record.uuid)).toEqual([made[0]?.uuid]);
    expect(second.pagination.count).toBe(1);

    const all = await manager.list(SERVER);
    expect(all.pagination.per_page).toBe(20);
    expect((await manager.list(SERVER, { perPage: 500 })).pagination.per_page).toBe(50);
    expect((await manager.list("other")).pagination).toEqual({
      total: 0,
      count: 0,
      per_page: 20,
      current_page: 1,
      total_pages: 1,
    });
    await expect(manager.list(SERVER, { page: 0 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("names a backup after its start time when no name is given", async () => {
    const { manager } = await setup();
    const record = await manager.create(SERVER);
    expect(record.name).toBe("Backup at 2025-01-15 10:30:00");
    await manager.wait(SERVER, record.uuid);
  });
});

describe("input validation", () => {
  it("refuses bad server ids, backup ids and ignore patterns before touching storage", async () => {
    const { manager, storage } = await setup();
    await expect(manager.create("../etc")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(manager.create("a/b")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(manager.get(SERVER, "not-a-uuid")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(
      manager.create(SERVER, { ignored: ["*.log", 7] as unknown as string[] }),
    ).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(manager.create(SERVER, { name: "x".repeat(192) })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    expect(await keysOf(storage)).toEqual([]);
    expect(manager.isBusy(SERVER)).toBe(false);
  });
});

describe("a restore of a backup that does not exist", () => {
  it("is NOT_FOUND even while the server is busy: waiting would not help", async () => {
    const stalling = stallArchives(createMemoryStorage());
    const { manager } = await setup({}, stalling.storage);
    const running = await manager.create(SERVER);
    await stalling.uploading;
    const missing = "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e";
    await expect(manager.restore(SERVER, missing, { truncate: true })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: `Server ${SERVER} has no backup ${missing}.`,
    });
    expect(manager.activeOperation(SERVER)).toEqual({ operation: "backup", backup: running.uuid });
    stalling.release();
    expect((await manager.wait(SERVER, running.uuid)).is_successful).toBe(true);
  });
});

describe("one operation per server", () => {
  it("queues a second backup behind a running one, refuses a restore meanwhile, and reports what runs", async () => {
    const stalling = stallArchives(createMemoryStorage());
    const { manager, dir } = await setup({}, stalling.storage);
    const running = await manager.create(SERVER);
    await stalling.uploading;

    expect(manager.activeOperation(SERVER)).toEqual({ operation: "backup", backup: running.uuid });
    const queued = await manager.create(SERVER);
    expect(queued.completed_at).toBeNull();
    expect(await manager.get(SERVER, queued.uuid)).toMatchObject({
      completed_at: null,
      is_successful: false,
    });
    await expect(manager.restore(SERVER, running.uuid, { truncate: true })).rejects.toMatchObject({
      code: "SERVER_STATE_CONFLICT",
      message: expect.stringMatching(/is being backed up/),
    });
    for (const uuid of [running.uuid, queued.uuid]) {
      await expect(manager.delete(SERVER, uuid)).rejects.toMatchObject({ code: "SERVER_STATE_CONFLICT" });
    }
    // Another server is not held up.
    await writeTree(join(dir, "srv-2"), { "c.txt": "gamma" });
    const other = await manager.create("srv-2");

    stalling.release();
    const first = await manager.wait(SERVER, running.uuid);
    const second = await manager.wait(SERVER, queued.uuid);
    expect([first.is_successful, second.is_successful]).toEqual([true, true]);
    // One backup of a server at a time: the queued one ran after the first had ended.
    expect(Date.parse(second.completed_at as string)).toBeGreaterThan(
      Date.parse(first.completed_at as string),
    );
    expect((await manager.wait("srv-2", other.uuid)).is_successful).toBe(true);
    expect(manager.isBusy(SERVER)).toBe(false);
  });

  it("reports restoring_backup while a restore runs and refuses a backup meanwhile", async () => {
    const memory = createMemoryStorage();
    const done = await backup((await setup({}, memory)).manager);
    const stalling = stallArchives(memory);
    const { manager } = await setup({}, stalling.storage);
    const restore = manager.restore(SERVER, done.uuid, { truncate: true });
    await stalling.downloading;
    expect(manager.activeOperation(SERVER)).toEqual({
      operation: "restore",
      backup: done.uuid,
      serverState: "restoring_backup",
    });
    await expect(manager.create(SERVER)).rejects.toMatchObject({
      code: "SERVER_STATE_CONFLICT",
      message: expect.stringMatching(/is restoring a backup/),
    });
    stalling.release();
    await restore;
    expect(manager.isBusy(SERVER)).toBe(false);
  });
});

describe("cancel and failures", () => {
  it("cancels a running backup: failed with error cancelled, no archive left", async () => {
    const stalling = stallArchives(createMemoryStorage());
    const { manager, storage, events } = await setup({}, stalling.storage);
    const { uuid } = await manager.create(SERVER);
    await stalling.uploading;

    const cancelled = await manager.cancel(SERVER, uuid);
    expect(cancelled).toMatchObject({ is_successful: false, error: "cancelled", checksum: null });
    expect(cancelled.completed_at).not.toBeNull();
    expect(await keysOf(storage)).toEqual([manifestKey(SERVER, uuid)]);
    expect(events.map((event) => event.event)).toEqual(["server:backup.start", "server:backup.fail"]);
    expect(events[1]?.properties).toEqual({ name: cancelled.name, error: "cancelled" });
    expect(manager.isBusy(SERVER)).toBe(false);
  });

  it("cancels through the caller's signal", async () => {
    const stalling = stallArchives(createMemoryStorage());
    const { manager } = await setup({}, stalling.storage);
    const controller = new AbortController();
    const { uuid } = await manager.create(SERVER, { signal: controller.signal });
    await stalling.uploading;
    controller.abort();
    expect(await manager.wait(SERVER, uuid)).toMatchObject({ is_successful: false, error: "cancelled" });
  });

  it("refuses a backup whose folder is missing with NOT_FOUND, leaving no record and rotating nothing", async () => {
    const storage = createMemoryStorage();
    const rotate = vi.fn();
    const { manager, events, dir } = await setup({}, storage);
    const kept = await backup(manager);
    await rm(join(dir, SERVER), { recursive: true });
    const policy: BackupPolicy = {
      create: () => {
        rotate();
        return { ok: true, rotate: [kept.uuid] };
      },
    };
    const again = createBackupManager({ storage, serverRoot: (server) => join(dir, server), policy });
    await expect(again.create(SERVER, { scheduled: true })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringMatching(/no folder to pack/),
    });
    expect(rotate).toHaveBeenCalledTimes(1);
    expect(await keysOf(storage)).toEqual([manifestKey(SERVER, kept.uuid), archiveKey(SERVER, kept.uuid)]);
    expect(events.map((event) => event.event)).toEqual(["server:backup.start", "server:backup.complete"]);
    await again.close();
  });

  it("says clearly when the storage cannot hand out download links", async () => {
    const { manager } = await setup();
    const done = await backup(manager);
    await expect(manager.downloadUrl(SERVER, done.uuid)).rejects.toMatchObject({
      code: "STORAGE_ERROR",
      message: expect.stringMatching(/cannot hand out download links/),
    });
  });

  it("cancels what runs on close and then refuses new work", async () => {
    const stalling = stallArchives(createMemoryStorage());
    const { manager } = await setup({}, stalling.storage);
    const { uuid } = await manager.create(SERVER);
    await stalling.uploading;
    await manager.close();
    expect(await manager.get(SERVER, uuid)).toMatchObject({ is_successful: false, error: "cancelled" });
    await expect(manager.create(SERVER)).rejects.toMatchObject({ code: "ABORTED" });
  });
});

describe("policy", () => {
  it("turns refusals into errors and leaves nothing behind", async () => {
    const policy: BackupPolicy = {
      create: () => ({
        ok: false,
        code: "BACKUP_LIMIT_REACHED",
        message: "This server has reached its backup limit.",
        details: { limit: 0 },
      }),
    };
    const { manager, storage, events } = await setup({ policy });
    const error = await manager.create(SERVER).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: "StrongboxError",
      code: "BACKUP_LIMIT_REACHED",
      message: "This server has reached its backup limit.",
      details: { limit: 0 },
    });
    expect(await keysOf(storage)).toEqual([]);
    expect(events).toEqual([]);
    expect(manager.isBusy(SERVER)).toBe(false);
  });

  it("asks each question with the actor, the time and every backup newest first", async () => {
    const inputs: Record<string, PolicyInput & Record<string, unknown>> = {};
    const record = (name: string) => (input: PolicyInput) => {
      inputs[name] = input as PolicyInput & Record<string, unknown>;
      return { ok: true as const };
    };
    const policy: BackupPolicy = {
      create: record("create"),
      setLocked: record("setLocked"),
      delete: (input) =>
        input.backup.is_locked
          ? { ok: false, code: "BACKUP_LOCKED", message: "Cannot delete a locked backup." }
          : { ok: true },
      restore: (input) =>
        input.serverState === "installing"
          ? { ok: false, code: "SERVER_STATE_CONFLICT", message: "The server is installing." }
          : { ok: true },
    };
    let state = "installing";
    const { manager } = await setup({ policy, serverState: () => state });
    const older = await backup(manager, "older");
    const { uuid } = await manager.create(SERVER, {
      name: "newer",
      locked: true,
      actor: ADMIN,
      scheduled: true,
    });
    await manager.wait(SERVER, uuid);

    expect(inputs.create).toMatchObject({ server: SERVER, actor: ADMIN, locked: true, scheduled: true });
    expect(inputs.create?.now).toBeInstanceOf(Date);
    expect(inputs.create?.backups.map((b) => b.name)).toEqual(["older"]);

    await expect(manager.delete(SERVER, uuid, { actor: ADMIN })).rejects.toMatchObject({
      code: "BACKUP_LOCKED",
    });
    await expect(manager.restore(SERVER, uuid, { truncate: true })).rejects.toMatchObject({
      code: "SERVER_STATE_CONFLICT",
      message: "The server is installing.",
    });
    state = "offline";
    await manager.restore(SERVER, older.uuid, { truncate: false });

    await manager.setLocked(SERVER, uuid, false, { actor: ADMIN });
    expect(inputs.setLocked?.backups.map((b) => b.name)).toEqual(["newer", "older"]);
    expect(inputs.setLocked).toMatchObject({ locked: false, actor: ADMIN });
    await manager.delete(SERVER, uuid, { actor: ADMIN });
    expect((await manager.list(SERVER)).backup_count).toBe(1);
  });

  it("rotates out the backups a create decision names before starting", async () => {
    const policy: BackupPolicy = {
      create: ({ backups, scheduled }) =>
        backups.length >= 2 && scheduled ? { ok: true, rotate: [backups.at(-1)!.uuid] } : { ok: true },
    };
    const { manager, storage, events } = await setup({ policy });
    const oldest = await backup(manager, "oldest");
    await backup(manager, "middle");
    const { uuid } = await manager.create(SERVER, { scheduled: true });
    await manager.wait(SERVER, uuid);

    const names = (await manager.list(SERVER)).data.map((record) => record.name);
    expect(names).toEqual([expect.stringMatching(/^Backup at /), "middle"]);
    expect(await storage.stat(archiveKey(SERVER, oldest.uuid))).toBeUndefined();
    expect(events.filter((event) => event.event === "server:backup.delete")).toEqual([
      expect.objectContaining({ backup: oldest.uuid, properties: { name: "oldest", failed: false } }),
    ]);
  });

  it("applies retention after a successful backup, sparing locked backups", async () => {
    const policy: BackupPolicy = {
      retention: ({ backups }) => backups.slice(1).map((record) => record.uuid),
    };
    const { manager } = await setup({ policy });
    const kept = await backup(manager, "locked");
    await manager.setLocked(SERVER, kept.uuid, true);
    await backup(manager, "dropped");
    await backup(manager, "latest");
    expect((await manager.list(SERVER)).data.map((record) => record.name)).toEqual(["latest", "locked"]);
  });
});

describe("forget on demand", () => {
  const dropAllButNewest: BackupPolicy["retention"] = ({ backups }) =>
    backups.slice(1).map((record) => record.uuid);

  it("removes what the policy's retention names, spares locked backups, and says so", async () => {
    const { manager, storage, events } = await setup();
    const locked = await backup(manager, "locked");
    await manager.setLocked(SERVER, locked.uuid, true);
    const dropped = await backup(manager, "dropped");
    await backup(manager, "latest");
    const withPolicy = createBackupManager({
      storage,
      serverRoot: () => "/nonexistent",
      policy: { retention: dropAllButNewest },
      onActivity: (event) => {
        events.push(event);
      },
    });

    const preview = await withPolicy.forget(SERVER, { dryRun: true });
    expect(preview.removed.map((record) => record.name)).toEqual(["dropped"]);
    expect(preview.spared).toEqual([
      { backup: expect.objectContaining({ name: "locked" }), reason: "locked" },
    ]);
    expect((await manager.list(SERVER)).data).toHaveLength(3);

    const done = await withPolicy.forget(SERVER);
    expect(done.removed.map((record) => record.name)).toEqual(["dropped"]);
    expect((await manager.list(SERVER)).data.map((record) => record.name)).toEqual(["latest", "locked"]);
    expect(await storage.stat(archiveKey(SERVER, dropped.uuid))).toBeUndefined();
    expect(
      events.filter((event) => event.event === "server:backup.delete").map((event) => event.backup),
    ).toEqual([dropped.uuid]);
  });

  it("takes a retention of its own, and removes nothing when the policy refuses one delete to the actor", async () => {
    const readOnly: Actor = { id: "viewer", permissions: [] };
    const policy: BackupPolicy = {
      delete: ({ actor }) =>
        actor?.permissions.includes("backup.delete")
          ? { ok: true }
          : { ok: false, code: "PERMISSION_DENIED", message: "You may not delete backups." },
    };
    const { manager } = await setup({ policy });
    await backup(manager, "one");
    await backup(manager, "two");
    await backup(manager, "three");
    await expect(
      manager.forget(SERVER, { retention: dropAllButNewest, actor: readOnly }),
    ).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
    });
    expect((await manager.list(SERVER)).data).toHaveLength(3);
    const { removed } = await manager.forget(SERVER, { retention: dropAllButNewest, actor: ADMIN });
    expect(removed.map((record) => record.name)).toEqual(["two", "one"]);
    expect((await manager.forget(SERVER)).removed).toEqual([]);
  });

  it("spares a backup this manager is restoring", async () => {
    let entered!: () => void;
    const inRestore = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { manager } = await setup({
      hooks: {
        beforeRestore: async () => {
          entered();
          await held;
        },
      },
    });
    const restoring = await backup(manager, "restoring");
    await backup(manager, "latest");
    const restored = manager.restore(SERVER, restoring.uuid, { truncate: true });
    await inRestore;
    const { removed, spared } = await manager.forget(SERVER, { retention: dropAllButNewest });
    release();
    await restored;
    expect(removed).toEqual([]);
    expect(spared).toEqual([{ backup: expect.objectContaining({ uuid: restoring.uuid }), reason: "in use" }]);
    expect((await manager.list(SERVER)).data).toHaveLength(2);
  });

  it("stops between deletes when its signal fires", async () => {
    const { manager } = await setup();
    await backup(manager, "one");
    await backup(manager, "two");
    const controller = new AbortController();
    controller.abort();
    await expect(
      manager.forget(SERVER, { retention: dropAllButNewest, signal: controller.signal }),
    ).rejects.toMatchObject({ code: "ABORTED" });
    expect((await manager.list(SERVER)).data).toHaveLength(2);
  });
});

describe("activity events", () => {
  it("reports a full lifecycle in order, with server, backup, actor and time", async () => {
    const dir = await dirs.make("events-store");
    const storage = createLocalStorage({
      root: dir,
      downloads: { secret: "s".repeat(32), baseUrl: "http://127.0.0.1:8080" },
    });
    const { manager, events } = await setup({}, storage);
    const { uuid } = await manager.create(SERVER, { name: "Nightly", actor: ADMIN });
    const done = await manager.wait(SERVER, uuid);
    await manager.setLocked(SERVER, uuid, true, { actor: ADMIN });
    const url = await manager.downloadUrl(SERVER, uuid, { actor: ADMIN });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/download\/backup\?token=/);
    await manager.restore(SERVER, uuid, { truncate: true, actor: ADMIN });
    await manager.setLocked(SERVER, uuid, false, { actor: ADMIN });
    await manager.delete(SERVER, uuid, { actor: ADMIN });

    expect(events.map(({ event, properties }) => ({ event, properties }))).toEqual([
      { event: "server:backup.start", properties: { name: "Nightly", locked: false } },
      {
        event: "server:backup.complete",
        properties: { name: "Nightly", bytes: done.bytes, checksum: done.checksum },
      },
      { event: "server:backup.lock", properties: { name: "Nightly" } },
      { event: "server:backup.download", properties: { name: "Nightly" } },
      { event: "server:backup.restore", properties: { name: "Nightly", truncate: true } },
      { event: "server:backup.restore-complete", properties: { name: "Nightly" } },
      { event: "server:backup.unlock", properties: { name: "Nightly" } },
      { event: "server:backup.delete", properties: { name: "Nightly", failed: false } },
    ]);
    for (const event of events) {
      expect(event).toMatchObject({ server: SERVER, backup: uuid, actor: ADMIN.id });
      expect(event.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    }
  });

  it("reports a failed restore and leaves the folder as it was when the archive is corrupt", async () => {
    const storage = createMemoryStorage();
    const { manager, events, dir } = await setup({}, storage);
    const done = await backup(manager);
    // A valid archive, but not the one the record vouches for.
    await writeTree(join(dir, SERVER), { "a.txt": "changed" });
    const other = await backup(manager);
    await storage.put(archiveKey(SERVER, done.uuid), await storage.get(archiveKey(SERVER, other.uuid)));
    await expect(manager.restore(SERVER, done.uuid, { truncate: true })).rejects.toMatchObject({
      code: "CHECKSUM_MISMATCH",
    });
    expect(events.at(-1)).toMatchObject({ event: "server:backup.restore-fail", backup: done.uuid });
    expect(await readTree(join(dir, SERVER))).toEqual({ "a.txt": "changed", "sub/b.txt": "beta" });
  });

  it("keeps going when the listener throws or never settles, and reports the error", async () => {
    const errors: unknown[] = [];
    const boom = new Error("listener down");
    const { manager } = await setup({
      onActivity: (event) => {
        if (event.event === "server:backup.start") throw boom;
        return new Promise<void>(() => {});
      },
      onListenerError: (error) => errors.push(error),
    });
    const done = await backup(manager);
    expect(done.is_successful).toBe(true);
    expect(errors).toEqual([boom]);
  });

  it("warns once on the console without an error handler, for sync throws and rejections alike", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const { manager } = await setup({
        onActivity: async () => {
          throw new Error("async listener down");
        },
      });
      const done = await backup(manager);
      await manager.setLocked(SERVER, done.uuid, true);
      expect(done.is_successful).toBe(true);
      await vi.waitFor(() => expect(warn).toHaveBeenCalled());
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe("progress", () => {
  it("ends each backup with a final report", async () => {
    const reports: OperationProgress[] = [];
    const { manager } = await setup({ onProgress: (progress) => reports.push(progress) });
    const done = await backup(manager);
    const last = reports.at(-1);
    expect(last).toMatchObject({ server: SERVER, backup: done.uuid, operation: "backup" });
    expect(last?.files).toBeGreaterThanOrEqual(2);
    expect(last?.bytes).toBeGreaterThanOrEqual("alphabeta".length);
  });
});
