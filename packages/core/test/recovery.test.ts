import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createLocalStorage } from "../../storage-local/src/index.js";
import {
  type BackupCatalog,
  type BackupRecord,
  createBackupManager,
  createManifestCatalog,
  createMemoryStorage,
  manifestKey,
} from "../src/index.js";
import {
  deferred,
  keysOf,
  stallArchives,
  steppingClock,
  tempDirs,
  writeRandomTree,
  writeTree,
} from "./fixtures/manager-helpers.js";

const SERVER = "srv-crash";
const FIXTURE = fileURLToPath(new URL("./fixtures/crash-backup.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../..", import.meta.url));

const dirs = tempDirs();
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill();
  await dirs.cleanup();
});

/** Every file under `root`, relative, sorted (temp files included, unlike a storage listing). */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

describe("crash recovery", () => {
  it("fails a backup whose process was killed mid-upload, removes its partial archive, and backs up again", async () => {
    const dir = await dirs.make("crash");
    const storageRoot = join(dir, "store");
    const serversRoot = join(dir, "servers");
    await writeRandomTree(join(serversRoot, SERVER), 64, 16 * 1024);

    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=source", FIXTURE, storageRoot, serversRoot, SERVER],
      { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(child);
    const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
    const { uuid } = JSON.parse(line) as { uuid: string };

    const during = await filesUnder(storageRoot);
    expect(during).toContain(`${SERVER}/${uuid}.json`);
    expect(during.some((file) => file.includes(".strongbox-tmp~"))).toBe(true);

    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;

    const storage = createLocalStorage({ root: storageRoot });
    const manager = createBackupManager({ storage, serverRoot: (id) => join(serversRoot, id) });
    const recovered = await manager.recover();
    expect(recovered.map((record) => record.uuid)).toEqual([uuid]);
    const failed = await manager.get(SERVER, uuid);
    expect(failed).toMatchObject({ is_successful: false, checksum: null, bytes: 0 });
    expect(failed.completed_at).not.toBeNull();
    expect(failed.error).toMatch(/interrupted/);
    expect(failed.owner).toBeUndefined();
    expect(await filesUnder(storageRoot)).toEqual([`${SERVER}/${uuid}.json`]);

    const next = await manager.create(SERVER);
    expect((await manager.wait(SERVER, next.uuid)).is_successful).toBe(true);
    expect(await manager.recover()).toEqual([]);
  });
});

describe("liveness of in-progress records", () => {
  const NOW = new Date("2025-01-15T10:30:00Z");

  function inProgress(uuid: string, owner: BackupRecord["owner"]): BackupRecord {
    return {
      uuid,
      server: SERVER,
      name: uuid.slice(0, 8),
      ignored_files: [],
      checksum: null,
      bytes: 0,
      is_successful: false,
      is_locked: false,
      created_at: "2025-01-15T10:28:00.000+00:00",
      completed_at: null,
      disk: "memory",
      ...(owner ? { owner } : {}),
    };
  }

  async function deadPid(): Promise<number> {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await once(child, "exit");
    return child.pid!;
  }

  async function setup(records: BackupRecord[]) {
    const storage = createMemoryStorage();
    const catalog = createManifestCatalog(storage);
    for (const record of records) await catalog.put(record);
    const dir = await dirs.make("liveness");
    await writeTree(join(dir, SERVER), { "a.txt": "alpha" });
    const manager = createBackupManager({
      storage,
      catalog,
      serverRoot: (id) => join(dir, id),
      now: () => NOW,
      host: "this-host",
    });
    return { storage, catalog, manager };
  }

  const fresh = NOW.toISOString();
  const stale = new Date(NOW.getTime() - 61_000).toISOString();
  const ids = {
    live: "11111111-1111-4111-8111-111111111111",
    deadPid: "22222222-2222-4222-8222-222222222222",
    stale: "33333333-3333-4333-8333-333333333333",
    otherHost: "44444444-4444-4444-8444-444444444444",
    noOwner: "55555555-5555-4555-8555-555555555555",
  };

  it("fails only records whose owner is gone from this host or stopped refreshing", async () => {
    const records = [
      inProgress(ids.live, { host: "this-host", pid: process.pid, heartbeat_at: fresh }),
      inProgress(ids.deadPid, { host: "this-host", pid: await deadPid(), heartbeat_at: fresh }),
      inProgress(ids.stale, { host: "other-host", pid: 1, heartbeat_at: stale }),
      inProgress(ids.otherHost, { host: "other-host", pid: await deadPid(), heartbeat_at: fresh }),
      inProgress(ids.noOwner, undefined),
    ];
    const { manager, catalog } = await setup(records);
    const recovered = await manager.recover();
    expect(recovered.map((record) => record.uuid).sort()).toEqual(
      [ids.deadPid, ids.stale, ids.noOwner].sort(),
    );
    expect(await catalog.get(SERVER, ids.live)).toEqual(records[0]);
    expect(await catalog.get(SERVER, ids.otherHost)).toEqual(records[3]);
  });

  it("refuses a new backup while another live process runs one, but not after that process died", async () => {
    const live = inProgress(ids.live, { host: "this-host", pid: process.pid, heartbeat_at: fresh });
    const { manager, catalog } = await setup([live]);
    await expect(manager.create(SERVER)).rejects.toMatchObject({
      code: "SERVER_STATE_CONFLICT",
      message: expect.stringMatching(/another process/),
    });
    await expect(manager.delete(SERVER, ids.live)).rejects.toMatchObject({ code: "SERVER_STATE_CONFLICT" });
    await expect(manager.cancel(SERVER, ids.live)).rejects.toMatchObject({ code: "SERVER_STATE_CONFLICT" });

    await catalog.put({ ...live, owner: { host: "this-host", pid: await deadPid(), heartbeat_at: fresh } });
    const { uuid } = await manager.create(SERVER);
    expect((await manager.wait(SERVER, uuid)).is_successful).toBe(true);
    expect(await catalog.get(SERVER, ids.live)).toMatchObject({
      is_successful: false,
      error: expect.any(String),
    });
  });

  it("does not wait on a backup whose process died", async () => {
    const dead = inProgress(ids.deadPid, { host: "this-host", pid: await deadPid(), heartbeat_at: fresh });
    const { manager } = await setup([dead]);
    expect(await manager.wait(SERVER, ids.deadPid)).toMatchObject({ is_successful: false });
  });
});

describe("heartbeat", () => {
  it("refreshes a running backup's record and ends with the finished record", async () => {
    const memory = createMemoryStorage();
    const stalling = stallArchives(memory);
    const inner = createManifestCatalog(memory);
    const refreshed = deferred<BackupRecord>();
    const writes: BackupRecord[] = [];
    const catalog: BackupCatalog = {
      ...inner,
      async put(record) {
        await inner.put(record);
        writes.push(record);
        if (writes.length === 2) refreshed.resolve(record);
      },
    };
    const dir = await dirs.make("heartbeat");
    await writeTree(join(dir, SERVER), { "a.txt": "alpha" });
    const manager = createBackupManager({
      storage: stalling.storage,
      catalog,
      serverRoot: (id) => join(dir, id),
      heartbeatMs: 5,
      now: steppingClock(),
      host: hostname(),
    });
    const { uuid, owner } = await manager.create(SERVER);
    await stalling.uploading;
    const refresh = await refreshed.promise;
    expect(refresh.completed_at).toBeNull();
    expect(Date.parse(refresh.owner!.heartbeat_at)).toBeGreaterThan(Date.parse(owner!.heartbeat_at));

    stalling.release();
    const done = await manager.wait(SERVER, uuid);
    expect(done.is_successful).toBe(true);
    expect(writes.at(-1)).toEqual(done);
    expect(await keysOf(memory)).toContain(manifestKey(SERVER, uuid));
  });
});
