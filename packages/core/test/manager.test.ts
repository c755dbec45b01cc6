import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ActivityEvent,
  archiveKey,
  type BackupManagerOptions,
  createBackupManager,
  manifestKey,
} from "../src/index.js";
import { keysOf, readTree, storedDigest, tempDirs, writeTree } from "./fixtures/manager-helpers.js";
import { type StorageFactory, useTestStorages } from "./fixtures/test-storages.js";

const SERVER = "srv-1";
const ORIGINAL = {
  "server.properties": "motd=hello\n",
  "world/level.dat": "level-1",
  "logs/latest.log": "log",
};

const adapters = useTestStorages("run", ["memory", "local", "s3"]);

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

async function setup(factory: StorageFactory, extra: Partial<BackupManagerOptions> = {}) {
  const dir = await dirs.make("manager");
  const root = join(dir, "servers", SERVER);
  await writeTree(root, ORIGINAL);
  const storage = factory(dir);
  const events: ActivityEvent[] = [];
  const manager = createBackupManager({
    storage,
    serverRoot: (server) => join(dir, "servers", server),
    onActivity: (event) => {
      events.push(event);
    },
    ...extra,
  });
  return { dir, root, storage, manager, events };
}

describe.each(adapters)("backup lifecycle on %s storage", (_name, factory) => {
  it("creates a backup in the background whose checksum is that of the stored archive", async () => {
    const { storage, manager } = await setup(factory);
    const started = await manager.create(SERVER, { name: "Pre-update", ignored: "*.log\n# comment\n" });
    expect(started).toMatchObject({
      server: SERVER,
      name: "Pre-update",
      ignored_files: ["*.log"],
      checksum: null,
      bytes: 0,
      is_successful: false,
      is_locked: false,
      completed_at: null,
      disk: storage.name,
    });
    expect(started.owner?.pid).toBe(process.pid);

    const done = await manager.wait(SERVER, started.uuid);
    const stored = await storedDigest(storage, archiveKey(SERVER, started.uuid));
    expect(done.is_successful).toBe(true);
    expect(done.completed_at).not.toBeNull();
    expect(done.checksum).toBe(stored.checksum);
    expect(done.bytes).toBe(stored.size);
    expect(done.owner).toBeUndefined();
    expect(await manager.get(SERVER, started.uuid)).toEqual(done);
    expect(await keysOf(storage)).toEqual(
      [archiveKey(SERVER, started.uuid), manifestKey(SERVER, started.uuid)].sort(),
    );
  });

  it("restores with truncate and with merge", async () => {
    const { root, manager } = await setup(factory);
    const { uuid } = await manager.create(SERVER);
    await manager.wait(SERVER, uuid);

    await writeTree(root, { "server.properties": "motd=changed\n", "extra.txt": "new" });
    await rm(join(root, "world"), { recursive: true });
    await manager.restore(SERVER, uuid, { truncate: false });
    expect(await readTree(root)).toEqual({ ...ORIGINAL, "extra.txt": "new" });

    await manager.restore(SERVER, uuid, { truncate: true });
    expect(await readTree(root)).toEqual(ORIGINAL);
    expect(manager.isBusy(SERVER)).toBe(false);
  });

  it("locks, unlocks and deletes a backup with its archive and manifest", async () => {
    const { storage, manager } = await setup(factory);
    const { uuid } = await manager.create(SERVER);
    await manager.wait(SERVER, uuid);

    expect((await manager.setLocked(SERVER, uuid, true)).is_locked).toBe(true);
    expect((await manager.get(SERVER, uuid)).is_locked).toBe(true);
    expect((await manager.setLocked(SERVER, uuid, false)).is_locked).toBe(false);

    await manager.delete(SERVER, uuid);
    expect(await keysOf(storage)).toEqual([]);
    await expect(manager.get(SERVER, uuid)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
