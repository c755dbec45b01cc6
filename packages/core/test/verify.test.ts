import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createLocalStorage } from "../../storage-local/src/index.js";
import {
  type ActivityEvent,
  archiveKey,
  type BackupManagerOptions,
  type BackupWarning,
  createBackupManager,
  manifestKey,
  type StorageAdapter,
} from "../src/index.js";
import {
  deferred,
  keysOf,
  stallArchives,
  steppingClock,
  tempDirs,
  writeTree,
} from "./fixtures/manager-helpers.js";
import { type StorageFactory, useTestStorages } from "./fixtures/test-storages.js";

const SERVER = "srv-1";
const TREE = { "server.properties": "motd=hello\n", "world/level.dat": "level-1" };

const adapters = useTestStorages("verify", ["local", "s3"]);

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

async function setup(factory: StorageFactory, extra: Partial<BackupManagerOptions> = {}) {
  const dir = await dirs.make("verify");
  await writeTree(join(dir, "servers", SERVER), TREE);
  const storage = factory(dir);
  const events: ActivityEvent[] = [];
  const warnings: BackupWarning[] = [];
  const options: BackupManagerOptions = {
    storage,
    serverRoot: (server) => join(dir, "servers", server),
    onActivity: (event) => {
      events.push(event);
    },
    onWarning: (warning) => warnings.push(warning),
    now: steppingClock(),
    ...extra,
  };
  const manager = createBackupManager(options);
  const backup = async () => {
    const { uuid } = await manager.create(SERVER);
    return manager.wait(SERVER, uuid);
  };
  return { dir, storage, manager, events, warnings, options, backup };
}

/** Replaces a stored archive with other bytes, as rot or a bad disk would. */
async function damage(storage: StorageAdapter, uuid: string, bytes: Buffer): Promise<void> {
  await storage.put(archiveKey(SERVER, uuid), Readable.from([bytes]));
}

const verifyEvents = (events: ActivityEvent[]) =>
  events.filter((event) => event.event.startsWith("server:backup.verify"));

describe.each(adapters)("verify on %s storage", (_name, factory) => {
  it("reads the archive back, records that it passed, and says so in an event", async () => {
    const { manager, events, backup } = await setup(factory);
    const done = await backup();
    const actor = { id: "admin", permissions: [] };

    const verified = await manager.verify(SERVER, done.uuid, { actor });

    expect(verified).toMatchObject({ ...done, verification: "passed" });
    expect(verified.verification_error).toBeUndefined();
    expect(Date.parse(verified.verified_at ?? "")).toBeGreaterThanOrEqual(
      Date.parse(done.completed_at ?? ""),
    );
    expect(await manager.get(SERVER, done.uuid)).toEqual(verified);
    expect(verifyEvents(events)).toEqual([
      expect.objectContaining({
        event: "server:backup.verify",
        backup: done.uuid,
        actor: "admin",
        properties: { name: done.name, bytes: done.bytes, checksum: done.checksum },
      }),
    ]);
  });

  it("marks a damaged archive failed, says what was wrong, and shows it in the list", async () => {
    const { storage, manager, events, backup } = await setup(factory);
    const done = await backup();
    await manager.verify(SERVER, done.uuid);
    await manager.setLocked(SERVER, done.uuid, true);
    await damage(storage, done.uuid, Buffer.from("not the archive"));

    const verified = await manager.verify(SERVER, done.uuid);

    expect(verified).toMatchObject({ verification: "failed", is_locked: true, checksum: done.checksum });
    expect(verified.verification_error).toMatch(
      new RegExp(
        `^Backup ${done.uuid} is damaged: its archive \\(15 bytes, sha256:[0-9a-f]{64}\\) does not match`,
      ),
    );
    const listed = (await manager.list(SERVER)).data[0];
    expect(listed).toMatchObject({ uuid: done.uuid, verification: "failed" });
    const failed = verifyEvents(events).at(-1);
    expect(failed).toMatchObject({
      event: "server:backup.verify-fail",
      properties: { name: done.name, error: verified.verification_error },
    });
  });

  it("counts a missing archive as a failed verification", async () => {
    const { storage, manager, backup } = await setup(factory);
    const done = await backup();
    await storage.delete(archiveKey(SERVER, done.uuid));

    const verified = await manager.verify(SERVER, done.uuid);

    expect(verified).toMatchObject({
      verification: "failed",
      verification_error: `The archive of backup ${done.uuid} is missing from the storage.`,
    });
  });

  it("clears the last failure's reason once the archive passes again", async () => {
    const { storage, manager, backup } = await setup(factory);
    const done = await backup();
    const original = await readAll(storage, archiveKey(SERVER, done.uuid));
    await damage(storage, done.uuid, Buffer.from("rot"));
    expect((await manager.verify(SERVER, done.uuid)).verification).toBe("failed");
    await damage(storage, done.uuid, original);

    const verified = await manager.verify(SERVER, done.uuid);

    expect(verified.verification).toBe("passed");
    expect("verification_error" in verified).toBe(false);
  });

  it("does not bring back a backup deleted while its archive was read", async () => {
    const { dir, storage, manager, backup } = await setup(factory);
    const done = await backup();
    // A second manager (as another process would) reads through a storage that holds the archive still.
    const stalled = stallArchives(storage);
    const events: ActivityEvent[] = [];
    const reader = createBackupManager({
      storage: stalled.storage,
      serverRoot: (server) => join(dir, "servers", server),
      onActivity: (event) => {
        events.push(event);
      },
    });
    const verifying = reader.verify(SERVER, done.uuid);
    const outcome = verifying.catch((error: unknown) => error);
    await stalled.downloading;

    await manager.delete(SERVER, done.uuid);
    stalled.release();

    expect(await outcome).toMatchObject({ code: "NOT_FOUND" });
    await expect(manager.get(SERVER, done.uuid)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await keysOf(storage)).not.toContain(manifestKey(SERVER, done.uuid));
    expect(verifyEvents(events)).toEqual([]);
  });

  it("keeps a lock set while the archive was read", async () => {
    const { dir, storage, manager, backup } = await setup(factory);
    const done = await backup();
    const stalled = stallArchives(storage);
    const reader = createBackupManager({
      storage: stalled.storage,
      serverRoot: (s) => join(dir, "servers", s),
    });
    const verifying = reader.verify(SERVER, done.uuid);
    await stalled.downloading;

    await manager.setLocked(SERVER, done.uuid, true);
    stalled.release();

    expect(await verifying).toMatchObject({ is_locked: true, verification: "passed" });
    expect(await manager.get(SERVER, done.uuid)).toMatchObject({ is_locked: true, verification: "passed" });
  });

  it("verifies every new backup once written when asked to", async () => {
    const verified = deferred<ActivityEvent>();
    const { manager, backup } = await setup(factory, {
      verifyNewBackups: true,
      onActivity: (event) => {
        if (event.event === "server:backup.verify") verified.resolve(event);
      },
    });

    const done = await backup();

    expect(await verified.promise).toMatchObject({
      backup: done.uuid,
      properties: { checksum: done.checksum },
    });
    expect(await manager.get(SERVER, done.uuid)).toMatchObject({ verification: "passed" });
  });
});

describe("verify on local storage", () => {
  const local: StorageFactory = (dir) => createLocalStorage({ root: join(dir, "store") });

  it("refuses a failed backup, an unknown one and a bad id", async () => {
    const refuse = () => {
      throw new Error("the game server did not answer");
    };
    const { manager, backup } = await setup(local, { hooks: { beforeBackup: refuse } });
    const failed = await backup();
    expect(failed.is_successful).toBe(false);

    await expect(manager.verify(SERVER, failed.uuid)).rejects.toMatchObject({
      code: "BACKUP_NOT_SUCCESSFUL",
    });
    await expect(manager.verify(SERVER, "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e")).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(manager.verify("../etc", failed.uuid)).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("records nothing when the verification is cancelled", async () => {
    const { storage, manager, backup, options } = await setup(local);
    const done = await backup();
    const stalled = stallArchives(storage);
    const reader = createBackupManager({ ...options, storage: stalled.storage });
    const controller = new AbortController();
    const verifying = reader.verify(SERVER, done.uuid, { signal: controller.signal });
    await stalled.downloading;

    controller.abort();

    await expect(verifying).rejects.toMatchObject({ code: "ABORTED" });
    expect((await manager.get(SERVER, done.uuid)).verified_at).toBeUndefined();
  });

  it("cancels background verifications when the manager closes, recording nothing", async () => {
    const { storage, manager, backup, options } = await setup(local);
    const [first, second] = [await backup(), await backup()];
    const stalled = stallArchives(storage);
    const reader = createBackupManager({ ...options, storage: stalled.storage });
    const sampling = reader.verifySample({ count: 2 }).catch((error: unknown) => error);
    await stalled.downloading;

    await reader.close();

    expect(await sampling).toMatchObject({ code: "ABORTED" });
    for (const { uuid } of [first, second]) {
      expect((await manager.get(SERVER, uuid)).verified_at).toBeUndefined();
    }
  });

  it("samples the least recently verified backups, never verified ones first", async () => {
    const { manager, backup } = await setup(local);
    const [a, b, c] = [await backup(), await backup(), await backup()];
    await manager.verify(SERVER, a.uuid);

    const first = await manager.verifySample({ count: 2 });
    expect(first.map((record) => record.uuid)).toEqual([b.uuid, c.uuid]);
    const second = await manager.verifySample({ fraction: 0.5 });
    expect(second.map((record) => record.uuid)).toEqual([a.uuid, b.uuid]);
    expect(await manager.verifySample({ count: 0 })).toEqual([]);
    expect(await manager.verifySample({ count: 5, servers: ["srv-9"] })).toEqual([]);
    await expect(manager.verifySample({ count: 1, servers: ["../srv-1"] })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    const stopped = new AbortController();
    stopped.abort();
    await expect(manager.verifySample({ count: 1, signal: stopped.signal })).rejects.toMatchObject({
      code: "ABORTED",
    });
  });

  it("refuses a sample size that is not a count or a fraction", async () => {
    const { manager } = await setup(local);
    for (const bad of [
      {},
      { count: -1 },
      { count: 1.5 },
      { fraction: 0 },
      { fraction: 1.5 },
      { count: 1, fraction: 0.5 },
    ]) {
      await expect(manager.verifySample(bad)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    }
  });

  it("reports a background verification that could not read the storage as a warning", async () => {
    const { storage, options, backup } = await setup(local);
    await backup();
    const broken: StorageAdapter = {
      ...storage,
      get: async (key, getOptions) => {
        if (key.endsWith(".tar.gz")) throw new Error("connection reset");
        return storage.get(key, getOptions);
      },
    };
    const warnings: BackupWarning[] = [];
    const manager = createBackupManager({ ...options, storage: broken, onWarning: (w) => warnings.push(w) });

    expect(await manager.verifySample({ count: 1 })).toEqual([]);
    expect(warnings).toEqual([
      expect.objectContaining({
        code: "VERIFICATION_FAILED",
        message: expect.stringMatching(/connection reset/),
      }),
    ]);
  });
});

async function readAll(storage: StorageAdapter, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
