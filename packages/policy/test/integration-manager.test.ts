// The real backup manager asking the real policy, on the memory and the local adapter.
import { archiveKey, manifestKey } from "@strongbox/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { retentionPlan } from "../src/index.js";
import {
  ADAPTERS,
  ADMIN,
  cleanup,
  FILES,
  HELPER,
  keysOf,
  readTree,
  SERVER,
  setup,
  writeTree,
} from "./integration-setup.js";

const MINUTE = 60_000;
const LIMIT_MESSAGE = "This server has reached its backup limit.";
const STATE_MESSAGE = "This server is not currently in a state that allows for a backup to be restored.";

afterEach(cleanup);

describe.each(ADAPTERS)("the manager with createPolicy on the $name adapter", (adapter) => {
  describe("limit", () => {
    it("counts a failed backup toward maxBackups, and frees the slot once it is deleted", async () => {
      const { manager, storage, events, backup, failedBackup } = await setup(adapter, {
        policy: { maxBackups: 2 },
      });
      await backup({ name: "good" });
      const failed = await failedBackup("no folder");
      expect(failed).toMatchObject({ is_successful: false, completed_at: expect.any(String) });

      await expect(manager.create(SERVER, { actor: ADMIN })).rejects.toMatchObject({
        code: "BACKUP_LIMIT_REACHED",
        message: LIMIT_MESSAGE,
        details: { limit: 2, count: 2 },
      });
      expect((await manager.list(SERVER)).backup_count).toBe(2);
      expect(manager.isBusy(SERVER)).toBe(false);

      await manager.delete(SERVER, failed.uuid, { actor: ADMIN });
      expect(events.at(-1)).toMatchObject({
        event: "server:backup.delete",
        backup: failed.uuid,
        properties: { name: "no folder", failed: true },
      });
      expect(await keysOf(storage)).not.toContain(manifestKey(SERVER, failed.uuid));
      expect((await backup({ name: "again" })).is_successful).toBe(true);
    });
  });

  describe("locks", () => {
    it("lets only an actor with backup.delete lock, unlock or create locked (PERMISSION_DENIED)", async () => {
      const { manager, storage, events, backup } = await setup(adapter, { policy: { maxBackups: 5 } });

      await expect(manager.create(SERVER, { locked: true, actor: HELPER })).rejects.toMatchObject({
        code: "PERMISSION_DENIED",
        message: "You need the backup.delete permission to create a locked backup.",
      });
      // The refusal leaves nothing behind.
      expect(await keysOf(storage)).toEqual([]);
      expect(events).toEqual([]);
      expect(manager.isBusy(SERVER)).toBe(false);

      const made = await backup({ name: "mine", actor: HELPER });
      await expect(manager.setLocked(SERVER, made.uuid, true, { actor: HELPER })).rejects.toMatchObject({
        code: "PERMISSION_DENIED",
        message: "You need the backup.delete permission to lock a backup.",
      });
      expect((await manager.get(SERVER, made.uuid)).is_locked).toBe(false);

      expect(await manager.setLocked(SERVER, made.uuid, true, { actor: ADMIN })).toMatchObject({
        is_locked: true,
      });
      await expect(manager.setLocked(SERVER, made.uuid, false, { actor: HELPER })).rejects.toMatchObject({
        code: "PERMISSION_DENIED",
        message: "You need the backup.delete permission to unlock a backup.",
      });
      expect((await manager.get(SERVER, made.uuid)).is_locked).toBe(true);

      const locked = await backup({ name: "locked", locked: true, actor: ADMIN });
      expect(locked).toMatchObject({ is_locked: true, is_successful: true });
      // Refused attempts report nothing: one lock event, by the admin.
      const lockEvents = events.filter((event) => event.event.endsWith("lock"));
      expect(lockEvents).toEqual([
        expect.objectContaining({ event: "server:backup.lock", backup: made.uuid, actor: ADMIN.id }),
      ]);
    });

    it("refuses to delete a locked backup (BACKUP_LOCKED), even for the system, and keeps its archive", async () => {
      const { manager, storage, backup } = await setup(adapter, { policy: {} });
      const locked = await backup({ name: "keep me", locked: true, actor: ADMIN });
      for (const options of [{ actor: ADMIN }, {}]) {
        await expect(manager.delete(SERVER, locked.uuid, options)).rejects.toMatchObject({
          code: "BACKUP_LOCKED",
          message: "Cannot delete a locked backup.",
          details: { backup: locked.uuid },
        });
      }
      expect(await storage.stat(archiveKey(SERVER, locked.uuid))).toMatchObject({ size: locked.bytes });

      // A helper is refused for lacking the permission before the lock is even looked at.
      await expect(manager.delete(SERVER, locked.uuid, { actor: HELPER })).rejects.toMatchObject({
        code: "PERMISSION_DENIED",
      });
      await manager.setLocked(SERVER, locked.uuid, false, { actor: ADMIN });
      await manager.delete(SERVER, locked.uuid, { actor: ADMIN });
      expect(await keysOf(storage)).toEqual([]);
    });
  });

  describe("restore rules", () => {
    it("refuses to restore or download a failed backup (BACKUP_NOT_SUCCESSFUL)", async () => {
      const { manager, root, events, failedBackup } = await setup(adapter, { policy: {} });
      const failed = await failedBackup("broken");
      const before = events.length;
      await expect(
        manager.restore(SERVER, failed.uuid, { truncate: true, actor: ADMIN }),
      ).rejects.toMatchObject({
        code: "BACKUP_NOT_SUCCESSFUL",
        details: { backup: failed.uuid, status: "failed" },
      });
      await expect(manager.downloadUrl(SERVER, failed.uuid, { actor: ADMIN })).rejects.toMatchObject({
        code: "BACKUP_NOT_SUCCESSFUL",
      });
      expect(events).toHaveLength(before);
      expect(manager.isBusy(SERVER)).toBe(false);
      expect(await readTree(root)).toEqual(FILES);
    });

    it("refuses a restore while the server is installing, suspended, transferring or restoring (SERVER_STATE_CONFLICT)", async () => {
      const { manager, root, state, events, backup } = await setup(adapter, { policy: {} });
      const done = await backup({ name: "nightly" });
      await writeTree(root, { "server.properties": "motd=changed\n" });
      const before = events.length;
      for (const blocking of ["installing", "suspended", "transferring", "restoring_backup"]) {
        state.value = blocking;
        await expect(
          manager.restore(SERVER, done.uuid, { truncate: true, actor: ADMIN }),
        ).rejects.toMatchObject({
          code: "SERVER_STATE_CONFLICT",
          message: STATE_MESSAGE,
          details: { state: blocking },
        });
        expect(manager.isBusy(SERVER)).toBe(false);
      }
      expect(events).toHaveLength(before);
      expect((await readTree(root))["server.properties"]).toBe("motd=changed\n");

      state.value = "offline";
      await manager.restore(SERVER, done.uuid, { truncate: true, actor: ADMIN });
      expect(await readTree(root)).toEqual(FILES);
    });

    it("refuses a restore to an actor without backup.restore (PERMISSION_DENIED)", async () => {
      const { manager, backup } = await setup(adapter, { policy: {} });
      const done = await backup();
      const reader = { id: "reader-1", permissions: ["backup.read"] };
      await expect(
        manager.restore(SERVER, done.uuid, { truncate: false, actor: reader }),
      ).rejects.toMatchObject({
        code: "PERMISSION_DENIED",
        message: "You need the backup.restore permission to restore a backup.",
      });
    });
  });

  describe("one operation per server", () => {
    it("refuses a backup asked for in the same tick as a restore; the restore completes", async () => {
      const { manager, root, storage, backup } = await setup(adapter, { policy: { maxBackups: 5 } });
      const done = await backup({ name: "base" });
      await writeTree(root, { "extra.txt": "new" });

      const [restoring, creating] = await Promise.allSettled([
        manager.restore(SERVER, done.uuid, { truncate: true, actor: ADMIN }),
        manager.create(SERVER, { actor: ADMIN }),
      ]);
      expect(restoring.status).toBe("fulfilled");
      expect(creating).toMatchObject({
        status: "rejected",
        reason: { code: "SERVER_STATE_CONFLICT", message: expect.stringMatching(/is restoring a backup/) },
      });
      expect(await readTree(root)).toEqual(FILES);
      expect(await manager.list(SERVER)).toMatchObject({ backup_count: 1 });
      expect(await keysOf(storage)).toHaveLength(2);
    });

    it("refuses a restore asked for in the same tick as a backup; the backup completes", async () => {
      const { manager, root, backup } = await setup(adapter, { policy: { maxBackups: 5 } });
      const done = await backup({ name: "base" });
      await writeTree(root, { "extra.txt": "new" });

      const [creating, restoring] = await Promise.allSettled([
        manager.create(SERVER, { name: "second", actor: ADMIN }),
        manager.restore(SERVER, done.uuid, { truncate: true, actor: ADMIN }),
      ]);
      expect(restoring).toMatchObject({
        status: "rejected",
        reason: { code: "SERVER_STATE_CONFLICT", message: expect.stringMatching(/is being backed up/) },
      });
      if (creating.status !== "fulfilled") throw creating.reason;
      expect(await manager.wait(SERVER, creating.value.uuid)).toMatchObject({ is_successful: true });
      // The restore never ran: the new file is still there.
      expect(await readTree(root)).toEqual({ ...FILES, "extra.txt": "new" });
    });

    it("reports restoring_backup while a restore runs, and refuses a second restore and a backup meanwhile", async () => {
      const { root, backup, stalled } = await setup(adapter, { policy: { maxBackups: 5 } });
      const done = await backup({ name: "base" });
      await writeTree(root, { "extra.txt": "new" });
      const { manager, downloading, release } = stalled();

      const { done: restored } = await manager.startRestore(SERVER, done.uuid, {
        truncate: true,
        actor: ADMIN,
      });
      await downloading;
      expect(manager.activeOperation(SERVER)).toEqual({
        operation: "restore",
        backup: done.uuid,
        serverState: "restoring_backup",
      });
      await expect(
        manager.restore(SERVER, done.uuid, { truncate: true, actor: ADMIN }),
      ).rejects.toMatchObject({
        code: "SERVER_STATE_CONFLICT",
      });
      await expect(manager.create(SERVER, { actor: ADMIN })).rejects.toMatchObject({
        code: "SERVER_STATE_CONFLICT",
      });

      release();
      await restored;
      expect(manager.activeOperation(SERVER)).toBeUndefined();
      expect(await readTree(root)).toEqual(FILES);
    });
  });

  describe("rotation", () => {
    it("rotates out a failed backup first, then the oldest successful unlocked one, on a scheduled create at the limit", async () => {
      const { manager, storage, events, backup, failedBackup, uuids } = await setup(adapter, {
        policy: { maxBackups: 4 },
      });
      const locked = await backup({ name: "locked, oldest", locked: true });
      const failed = await failedBackup("failed");
      const oldest = await backup({ name: "oldest unlocked" });
      const newest = await backup({ name: "newest" });

      // A backup someone asks for is refused at the limit; only a scheduled one may rotate.
      await expect(manager.create(SERVER, { actor: ADMIN })).rejects.toMatchObject({
        code: "BACKUP_LIMIT_REACHED",
        message: LIMIT_MESSAGE,
      });
      const first = await backup({ name: "scheduled 1", scheduled: true });
      expect(first.is_successful).toBe(true);
      expect(await uuids()).toEqual([first.uuid, newest.uuid, oldest.uuid, locked.uuid]);

      const second = await backup({ name: "scheduled 2", scheduled: true });
      expect(await uuids()).toEqual([second.uuid, first.uuid, newest.uuid, locked.uuid]);
      expect(await storage.stat(archiveKey(SERVER, oldest.uuid))).toBeUndefined();
      expect(await storage.stat(archiveKey(SERVER, locked.uuid))).toBeDefined();
      const deletes = events.filter((event) => event.event === "server:backup.delete");
      expect(deletes).toEqual([
        expect.objectContaining({ backup: failed.uuid, properties: { name: "failed", failed: true } }),
        expect.objectContaining({
          backup: oldest.uuid,
          properties: { name: "oldest unlocked", failed: false },
        }),
      ]);
      expect(deletes[0]).not.toHaveProperty("actor");
    });

    it("keeps the last backup that verified successfully, through rotation and retention", async () => {
      const { manager, storage, backup, uuids } = await setup(adapter, {
        policy: { maxBackups: 2, retention: { keepLast: 1 } },
      });
      const verified = await backup({ name: "verified" });
      expect((await manager.verify(SERVER, verified.uuid)).verification).toBe("passed");
      // keepLast 1 would remove it; it stays as the last backup known to read back whole.
      const next = await backup({ name: "never verified" });
      expect(await uuids()).toEqual([next.uuid, verified.uuid]);

      // At the limit a scheduled backup rotates out the newer one, not the verified one.
      const scheduled = await backup({ name: "scheduled", scheduled: true });
      expect(await uuids()).toEqual([scheduled.uuid, verified.uuid]);
      expect(await storage.stat(archiveKey(SERVER, verified.uuid))).toBeDefined();
    });

    it("refuses a scheduled create at the limit when only locked backups are left", async () => {
      const { manager, backup, uuids } = await setup(adapter, { policy: { maxBackups: 2 } });
      await backup({ name: "locked 1", locked: true });
      await backup({ name: "locked 2", locked: true });
      const before = await uuids();
      await expect(manager.create(SERVER, { scheduled: true })).rejects.toMatchObject({
        code: "BACKUP_LIMIT_REACHED",
        message: LIMIT_MESSAGE,
        details: { limit: 2, count: 2, rotatable: 0 },
      });
      expect(await uuids()).toEqual(before);
    });

    it("never rotates out a backup in progress: a scheduled create waits for it (SERVER_STATE_CONFLICT)", async () => {
      const { manager: idle, backup, stalled, uuids } = await setup(adapter, { policy: { maxBackups: 2 } });
      const old = await backup({ name: "old" });
      // Another manager (as another process would) runs a backup that stays in progress.
      const { manager: busy, uploading, release } = stalled();
      const running = await busy.create(SERVER, { name: "running" });
      await uploading;

      for (const manager of [idle, busy]) {
        await expect(manager.create(SERVER, { scheduled: true })).rejects.toMatchObject({
          code: "SERVER_STATE_CONFLICT",
        });
      }
      expect(await uuids()).toEqual([running.uuid, old.uuid]);

      release();
      expect(await busy.wait(SERVER, running.uuid)).toMatchObject({ is_successful: true });
      const made = await backup({ scheduled: true });
      expect(await uuids()).toEqual([made.uuid, running.uuid]);
    });
  });

  describe("retention", () => {
    it("previews retention on the manager's list without deleting anything", async () => {
      const { manager, backup, failedBackup, uuids } = await setup(adapter, { policy: {} });
      const locked = await backup({ name: "locked", locked: true });
      const failed = await failedBackup("failed");
      const a = await backup({ name: "a" });
      const b = await backup({ name: "b" });
      const c = await backup({ name: "c" });
      const before = await uuids();

      const { data } = await manager.list(SERVER);
      const plan = retentionPlan({ server: SERVER, now: new Date(), backups: data }, { keepLast: 2 });
      expect(plan.remove.map((record) => record.uuid)).toEqual([a.uuid, failed.uuid]);
      expect(plan.keep.map((record) => record.uuid)).toEqual([c.uuid, b.uuid, locked.uuid]);
      expect(plan.reasons).toEqual({
        [a.uuid]: "beyond the newest 2 successful backups",
        [failed.uuid]: "beyond the newest 2 successful backups",
      });
      expect(await uuids()).toEqual(before);
    });

    it("applies the policy's retention after every backup, failed ones too, sparing locked ones", async () => {
      const warnings: unknown[] = [];
      const { manager, events, backup, failedBackup, uuids } = await setup(adapter, {
        policy: { retention: { keepLast: 2 } },
        manager: { onWarning: (warning) => warnings.push(warning) },
      });
      const locked = await backup({ name: "locked", locked: true });
      const a = await backup({ name: "a" });
      expect(await uuids()).toEqual([a.uuid, locked.uuid]);
      const failed = await failedBackup("failed");
      // Newest 2 successful: a and the locked one; the failed one is newer: still all three.
      expect(await uuids()).toEqual([failed.uuid, a.uuid, locked.uuid]);

      const b = await backup({ name: "b" });
      // Newest 2 successful: b, a. The failed one is newer than a, so within them: it stays.
      expect(await uuids()).toEqual([b.uuid, failed.uuid, a.uuid, locked.uuid]);
      const c = await backup({ name: "c" });
      // Newest 2 successful: c, b. a and the failed one go; the locked one stays.
      expect(await uuids()).toEqual([c.uuid, b.uuid, locked.uuid]);
      const deletes = events.filter((event) => event.event === "server:backup.delete");
      expect(deletes.map(({ backup: uuid, properties }) => ({ uuid, properties }))).toEqual([
        { uuid: failed.uuid, properties: { name: "failed", failed: true } },
        { uuid: a.uuid, properties: { name: "a", failed: false } },
      ]);
      // Retention deletes come after the backup that caused them completed.
      const complete = events.findIndex(
        (event) => event.event === "server:backup.complete" && event.backup === c.uuid,
      );
      expect(events.indexOf(deletes[0]!)).toBeGreaterThan(complete);

      // Once unlocked, the oldest is beyond the newest 2 successful: the next backup, though it fails, removes it.
      await manager.setLocked(SERVER, locked.uuid, false);
      const failedAgain = await failedBackup("failed again");
      expect(await uuids()).toEqual([failedAgain.uuid, c.uuid, b.uuid]);
      expect(warnings).toEqual([]);
    });
  });

  describe("activity events", () => {
    it("reports a full lifecycle in order, each event with server, backup, actor and an ISO timestamp", async () => {
      const { manager, events } = await setup(adapter, { policy: { maxBackups: 5 } });
      const { uuid } = await manager.create(SERVER, { name: "Nightly", actor: ADMIN });
      const done = await manager.wait(SERVER, uuid);
      await manager.downloadUrl(SERVER, uuid, { actor: ADMIN });
      await manager.restore(SERVER, uuid, { truncate: true, actor: ADMIN });
      await manager.setLocked(SERVER, uuid, true, { actor: ADMIN });
      await manager.setLocked(SERVER, uuid, false, { actor: ADMIN });
      await manager.delete(SERVER, uuid, { actor: ADMIN });

      expect(events.map(({ event, properties }) => ({ event, properties }))).toEqual([
        { event: "server:backup.start", properties: { name: "Nightly", locked: false } },
        {
          event: "server:backup.complete",
          properties: { name: "Nightly", bytes: done.bytes, checksum: done.checksum },
        },
        { event: "server:backup.download", properties: { name: "Nightly" } },
        { event: "server:backup.restore", properties: { name: "Nightly", truncate: true } },
        { event: "server:backup.restore-complete", properties: { name: "Nightly" } },
        { event: "server:backup.lock", properties: { name: "Nightly" } },
        { event: "server:backup.unlock", properties: { name: "Nightly" } },
        { event: "server:backup.delete", properties: { name: "Nightly", failed: false } },
      ]);
      expect(done.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(done.bytes).toBeGreaterThan(0);
      for (const event of events) {
        expect(event).toMatchObject({ server: SERVER, backup: uuid, actor: ADMIN.id });
        expect(event.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
      }
      // The manager's clock steps forward on every read, so the times follow the order of the events.
      const times = events.map((event) => Date.parse(event.timestamp));
      expect(times).toEqual([...times].sort((x, y) => x - y));
      expect(new Set(times).size).toBe(times.length);
    });

    it("leaves an operation unaffected by a throwing listener, and reports the error once", async () => {
      const errors: { error: unknown; event: string }[] = [];
      const boom = new Error("listener down");
      const seen: string[] = [];
      const { manager, backup } = await setup(adapter, {
        policy: {},
        manager: {
          onActivity: (event) => {
            seen.push(event.event);
            if (event.event === "server:backup.complete") throw boom;
          },
          onListenerError: (error, event) => errors.push({ error, event: event.event }),
        },
      });
      const done = await backup({ name: "still fine" });
      expect(done.is_successful).toBe(true);
      expect(await manager.get(SERVER, done.uuid)).toMatchObject({
        is_successful: true,
        checksum: done.checksum,
      });
      await manager.setLocked(SERVER, done.uuid, true);
      expect(seen).toEqual(["server:backup.start", "server:backup.complete", "server:backup.lock"]);
      expect(errors).toEqual([{ error: boom, event: "server:backup.complete" }]);
    });

    it("warns once on the console when a listener without an error handler throws on every event", async () => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      try {
        const { manager, backup } = await setup(adapter, {
          policy: {},
          manager: {
            onActivity: () => {
              throw new Error("always down");
            },
          },
        });
        const done = await backup();
        await manager.restore(SERVER, done.uuid, { truncate: false });
        expect(done.is_successful).toBe(true);
        expect(warn).toHaveBeenCalledTimes(1);
      } finally {
        warn.mockRestore();
      }
    });
  });

  describe("throttle", () => {
    it("allows 2 creations per 10 minutes, then refuses with THROTTLED and when to retry", async () => {
      let at = Date.parse("2025-01-15T10:00:00Z");
      const { manager, events, backup, failedBackup, uuids } = await setup(adapter, {
        policy: { throttle: { limit: 2, periodMs: 10 * MINUTE } },
        now: () => new Date(at),
      });
      const first = await backup({ name: "first" });
      at += MINUTE;
      // A failed backup does not count, so it can be retried at once.
      await failedBackup("failed");
      await backup({ name: "second" });
      at += MINUTE;
      const before = await uuids();
      const starts = events.filter((event) => event.event === "server:backup.start").length;

      await expect(manager.create(SERVER, { actor: ADMIN })).rejects.toMatchObject({
        code: "THROTTLED",
        message: "Only 2 backups may be created every 10 minutes; try again in 480 seconds.",
        details: { limit: 2, periodMs: 10 * MINUTE, retryAfterSeconds: 480 },
      });
      expect(await uuids()).toEqual(before);
      expect(events.filter((event) => event.event === "server:backup.start")).toHaveLength(starts);
      expect(manager.isBusy(SERVER)).toBe(false);

      // The first creation stops counting exactly 10 minutes after it.
      at = Date.parse(first.created_at) + 10 * MINUTE;
      expect((await backup({ name: "third", actor: ADMIN })).is_successful).toBe(true);
    });

    it("keeps counting a creation after its backup is deleted, so deleting cannot get round the throttle", async () => {
      let at = Date.parse("2025-01-15T10:00:00Z");
      const { manager, backup, uuids } = await setup(adapter, {
        policy: { maxBackups: 1, throttle: { limit: 2, periodMs: 10 * MINUTE } },
        now: () => new Date(at),
      });
      const first = await backup({ name: "first", actor: HELPER });
      at += MINUTE;
      // Deleting makes room under the limit of 1, not under the throttle.
      await manager.delete(SERVER, first.uuid, { actor: ADMIN });
      const second = await backup({ name: "second", actor: HELPER });
      at += MINUTE;
      await manager.delete(SERVER, second.uuid, { actor: ADMIN });
      expect(await uuids()).toEqual([]);

      await expect(manager.create(SERVER, { actor: HELPER })).rejects.toMatchObject({
        code: "THROTTLED",
        details: { retryAfterSeconds: 480 },
      });
      at = Date.parse(first.created_at) + 10 * MINUTE;
      expect((await backup({ name: "third", actor: HELPER })).is_successful).toBe(true);
    });

    it("keeps counting a creation rotated out by a scheduled backup", async () => {
      let at = Date.parse("2025-01-15T10:00:00Z");
      const { manager, backup } = await setup(adapter, {
        policy: { maxBackups: 1, throttle: { limit: 2, periodMs: 10 * MINUTE } },
        now: () => new Date(at),
      });
      await backup({ name: "first" });
      at += MINUTE;
      await backup({ name: "second", scheduled: true });
      at += MINUTE;
      // The throttle is asked before the limit: the rotated-out first backup still counts.
      await expect(manager.create(SERVER, { actor: HELPER })).rejects.toMatchObject({ code: "THROTTLED" });
      expect((await manager.list(SERVER)).data.map((record) => record.name)).toEqual(["second"]);
    });
  });
});
