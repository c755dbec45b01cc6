import { spawn } from "node:child_process";
import { once } from "node:events";
import { open, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPolicy } from "../../policy/src/index.js";
import { createLocalStorage } from "../../storage-local/src/index.js";
import { createS3Storage } from "../../storage-s3/src/index.js";
import { startFaultProxy } from "../../storage-s3/test/helpers/fault-proxy.js";
import { type FakeS3, startFakeS3 } from "../../storage-s3/test/helpers/s3rver.js";
import {
  type ActivityEvent,
  type ActivityEventName,
  archiveKey,
  type BackupManagerOptions,
  type BackupRecord,
  createBackupManager,
  createManifestCatalog,
  type ReplicaOptions,
  type StorageAdapter,
} from "../src/index.js";
import {
  deferred,
  keysOf,
  readTree,
  stallArchives,
  storedDigest,
  tempDirs,
  writeTree,
} from "./fixtures/manager-helpers.js";

const SERVER = "srv-1";
const CRASH_FIXTURE = fileURLToPath(new URL("./fixtures/crash-replica.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const FILES = { "server.properties": "motd=hello\n", "world/level.dat": "level-1" };

let s3: FakeS3;
let s3Run = 0;
beforeAll(async () => {
  s3 = await startFakeS3();
});
afterAll(() => s3.stop());
const dirs = tempDirs();
afterEach(() => dirs.cleanup());

type ReplicaFactory = (dir: string) => StorageAdapter;
type LocalStorage = ReturnType<typeof createLocalStorage>;
const replicas: [string, ReplicaFactory][] = [
  ["local", (dir) => createLocalStorage({ root: join(dir, "replica") })],
  ["s3", () => createS3Storage({ ...s3.options, prefix: `replica-${++s3Run}` })],
];

/** Activity events as they come, and a way to wait for one without timing. */
function eventLog() {
  const events: ActivityEvent[] = [];
  const waiters: { name: ActivityEventName; backup: string; resolve(event: ActivityEvent): void }[] = [];
  return {
    events,
    listener(event: ActivityEvent) {
      events.push(event);
      for (const waiter of waiters.filter((w) => w.name === event.event && w.backup === event.backup)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    },
    /** The first `name` event about `backup`, seen already or still to come. */
    next(name: ActivityEventName, backup: string): Promise<ActivityEvent> {
      const seen = events.find((event) => event.event === name && event.backup === backup);
      if (seen) return Promise.resolve(seen);
      const { promise, resolve } = deferred<ActivityEvent>();
      waiters.push({ name, backup, resolve });
      return promise;
    },
  };
}

async function setup(
  replica: StorageAdapter,
  options: Partial<Omit<ReplicaOptions, "storage">> = {},
  extra: Partial<BackupManagerOptions> = {},
) {
  const dir = await dirs.make("replica");
  const root = join(dir, "servers", SERVER);
  await writeTree(root, FILES);
  const primary = createLocalStorage({ root: join(dir, "primary") });
  const log = eventLog();
  const manager = createBackupManager({
    storage: primary,
    serverRoot: (id) => join(dir, "servers", id),
    onActivity: log.listener,
    replica: { storage: replica, ...options },
    ...extra,
  });
  /** A successful backup, once its copy was made (or failed for good). */
  async function backUp(): Promise<{ record: BackupRecord; copy: ActivityEvent }> {
    const { uuid } = await manager.create(SERVER);
    const done = await manager.wait(SERVER, uuid);
    expect(done.is_successful).toBe(true);
    const copy = await Promise.race([
      log.next("server:backup.replicate", uuid),
      log.next("server:backup.replicate-fail", uuid),
    ]);
    return { record: await manager.get(SERVER, uuid), copy };
  }
  return { dir, root, primary, manager, log, backUp };
}

async function flipByte(storage: LocalStorage, key: string): Promise<void> {
  const path = join(storage.root, key);
  const { size } = await stat(path);
  const file = await open(path, "r+");
  try {
    const at = Math.floor(size / 2);
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, at);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await file.write(byte, 0, 1, at);
  } finally {
    await file.close();
  }
}

describe.each(replicas)("a local primary with a %s replica", (_name, makeReplica) => {
  it("copies each backup, verified, as a store a manager of the replica reads and restores", async () => {
    const dir = await dirs.make("replica-store");
    const replica = makeReplica(dir);
    const { manager, backUp } = await setup(replica);
    const { record, copy } = await backUp();

    expect(copy).toMatchObject({ event: "server:backup.replicate", properties: { disk: replica.name } });
    expect(record.copies).toEqual([{ disk: replica.name, state: "copied", at: expect.any(String) }]);
    expect(await storedDigest(replica, archiveKey(SERVER, record.uuid))).toEqual({
      checksum: record.checksum,
      size: record.bytes,
    });
    const { copies: _copies, ...withoutCopies } = record;
    expect(await createManifestCatalog(replica).get(SERVER, record.uuid)).toEqual({
      ...withoutCopies,
      disk: replica.name,
    });

    // The replica alone: another manager lists and restores from it.
    const target = join(dir, "restored");
    const offsite = createBackupManager({ storage: replica, serverRoot: () => target });
    expect((await offsite.list(SERVER)).data.map(({ uuid }) => uuid)).toEqual([record.uuid]);
    await offsite.restore(SERVER, record.uuid, { truncate: true });
    expect(await readTree(target)).toEqual(FILES);
    await offsite.close();
    await manager.close();
  });

  it.each([
    {
      damage: "is missing",
      harm: (primary: LocalStorage, key: string) => primary.delete(key),
      reason: "the archive is missing from the primary storage",
    },
    {
      damage: "fails its checksum",
      harm: (primary: LocalStorage, key: string) => flipByte(primary, key),
      reason: "the primary copy does not match its checksum",
    },
  ])("restores from the replica when the primary archive $damage, and says so", async ({ harm, reason }) => {
    const replica = makeReplica(await dirs.make("replica-store"));
    const { root, primary, manager, log, backUp } = await setup(replica);
    const { record } = await backUp();
    await harm(primary, archiveKey(SERVER, record.uuid));
    await writeTree(root, { "world/level.dat": "changed", "new.txt": "new" });

    await manager.restore(SERVER, record.uuid, { truncate: true });

    expect(await readTree(root)).toEqual(FILES);
    const complete = await log.next("server:backup.restore-complete", record.uuid);
    expect(complete.properties).toEqual({ name: record.name, source: "replica", reason });
    await manager.close();
  });
});

describe("restore and download with a replica", () => {
  it("restores from the primary, not saying replica, while the primary is fine", async () => {
    const replica = createLocalStorage({ root: join(await dirs.make("replica-store"), "r") });
    const { root, manager, log, backUp } = await setup(replica);
    const { record } = await backUp();
    await manager.restore(SERVER, record.uuid, { truncate: true });
    expect(await readTree(root)).toEqual(FILES);
    expect((await log.next("server:backup.restore-complete", record.uuid)).properties).toEqual({
      name: record.name,
    });
    await manager.close();
  });

  it("fails the restore, folder unchanged, when both copies are damaged", async () => {
    const replica = createLocalStorage({ root: join(await dirs.make("replica-store"), "r") });
    const { root, primary, manager, log, backUp } = await setup(replica);
    const { record } = await backUp();
    await flipByte(primary, archiveKey(SERVER, record.uuid));
    await flipByte(replica, archiveKey(SERVER, record.uuid));
    await writeTree(root, { "new.txt": "new" });

    await expect(manager.restore(SERVER, record.uuid, { truncate: true })).rejects.toBeDefined();

    expect(await readTree(root)).toEqual({ ...FILES, "new.txt": "new" });
    expect((await log.next("server:backup.restore-fail", record.uuid)).properties).toMatchObject({
      name: record.name,
    });
    await manager.close();
  });

  it("hands out a link to the replica's copy when the primary archive is missing", async () => {
    const replica = createS3Storage({ ...s3.options, prefix: `replica-${++s3Run}` });
    const { primary, manager, log, backUp } = await setup(replica);
    const { record } = await backUp();
    await primary.delete(archiveKey(SERVER, record.uuid));

    const url = await manager.downloadUrl(SERVER, record.uuid);

    expect(url.startsWith(s3.endpoint)).toBe(true);
    const response = await fetch(url);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(record.bytes);
    expect((await log.next("server:backup.download", record.uuid)).properties).toEqual({
      name: record.name,
      source: "replica",
      reason: "the archive is missing from the primary storage",
    });
    await manager.close();
  });
});

describe("copies in the background", () => {
  it("never hold the server: the next backup runs while a copy is stuck, and is copied after it", async () => {
    const stalling = stallArchives(createLocalStorage({ root: join(await dirs.make("replica-stall"), "r") }));
    const { manager, log } = await setup(stalling.storage);
    const first = await manager.create(SERVER);
    expect((await manager.wait(SERVER, first.uuid)).is_successful).toBe(true);
    await stalling.uploading;

    const second = await manager.create(SERVER);
    const done = await manager.wait(SERVER, second.uuid);

    expect(done.is_successful).toBe(true);
    expect(done.copies).toMatchObject([{ state: "pending" }]);
    expect(log.events.some((event) => event.event === "server:backup.replicate")).toBe(false);
    stalling.release();
    await log.next("server:backup.replicate", first.uuid);
    await log.next("server:backup.replicate", second.uuid);
    const copied = (await manager.list(SERVER)).data.map((record) => record.copies?.[0]?.state);
    expect(copied).toEqual(["copied", "copied"]);
    await manager.close();
  });
});

describe("copies that fail", () => {
  it("retries a replica that is down with backoff, and copies once it is up; the backup stays successful", async () => {
    const dir = await dirs.make("replica-down");
    // The replica's folder cannot be made while a file stands in its path: the replica is down.
    const blocker = join(dir, "blocker");
    await writeFile(blocker, "");
    const replica = createLocalStorage({ root: join(blocker, "replica") });
    const waits: number[] = [];
    const backoff = async (attempt: number) => {
      waits.push(attempt);
      if (attempt === 2) await rm(blocker);
    };
    const { backUp, manager } = await setup(replica, { backoff, attempts: 5 });

    const { record, copy } = await backUp();

    expect(waits).toEqual([1, 2]);
    expect(copy.event).toBe("server:backup.replicate");
    expect(record.is_successful).toBe(true);
    expect(record.copies).toMatchObject([{ disk: "local", state: "copied" }]);
    expect(await storedDigest(replica, archiveKey(SERVER, record.uuid))).toEqual({
      checksum: record.checksum,
      size: record.bytes,
    });
    await manager.close();
  });

  it("retries an S3 replica that answers 500, and copies once it answers again", async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      let down = true;
      proxy.addFault({ match: (request) => down && request.method === "PUT", action: "error500" });
      const replica = createS3Storage({ ...s3.options, endpoint: proxy.endpoint, prefix: `down-${++s3Run}` });
      const waits: number[] = [];
      const backoff = async (attempt: number) => {
        waits.push(attempt);
        down = false;
      };
      const { backUp, manager } = await setup(replica, { backoff });

      const { record, copy } = await backUp();

      expect(waits).toEqual([1]);
      expect(copy.event).toBe("server:backup.replicate");
      expect(record.copies).toMatchObject([{ disk: "s3", state: "copied" }]);
      expect(await storedDigest(replica, archiveKey(SERVER, record.uuid))).toEqual({
        checksum: record.checksum,
        size: record.bytes,
      });
      await manager.close();
    } finally {
      await proxy.stop();
    }
  });

  it("marks the copy failed after the last attempt, and copies it on the next recover", async () => {
    const dir = await dirs.make("replica-down");
    const blocker = join(dir, "blocker");
    await writeFile(blocker, "");
    const replica = createLocalStorage({ root: join(blocker, "replica") });
    const waits: number[] = [];
    const { backUp, manager, log } = await setup(replica, {
      attempts: 3,
      backoff: async (attempt) => {
        waits.push(attempt);
      },
    });

    const { record, copy } = await backUp();

    expect(waits).toEqual([1, 2]);
    expect(copy).toMatchObject({
      event: "server:backup.replicate-fail",
      properties: { name: record.name, disk: "local", attempts: 3, error: expect.any(String) },
    });
    expect(record.is_successful).toBe(true);
    expect(record.copies).toMatchObject([{ disk: "local", state: "failed", error: expect.any(String) }]);

    await rm(blocker);
    await manager.recover();
    await log.next("server:backup.replicate", record.uuid);
    expect((await manager.get(SERVER, record.uuid)).copies).toMatchObject([{ state: "copied" }]);
    await manager.close();
  });

  it("stops retrying a backup deleted from the primary meanwhile, without a failure event", async () => {
    const dir = await dirs.make("replica-down");
    const blocker = join(dir, "blocker");
    await writeFile(blocker, "");
    const replica = createLocalStorage({ root: join(blocker, "replica") });
    const waits: number[] = [];
    let deleted: string | undefined;
    const { manager, log } = await setup(replica, {
      attempts: 3,
      backoff: async (attempt) => {
        waits.push(attempt);
        if (deleted) await manager.delete(SERVER, deleted);
        await rm(blocker, { force: true });
      },
    });
    const first = await manager.create(SERVER);
    deleted = first.uuid;
    expect((await manager.wait(SERVER, first.uuid)).is_successful).toBe(true);

    // Copies run one at a time: once the second is copied, the first's copy has ended.
    const second = await manager.create(SERVER);
    await manager.wait(SERVER, second.uuid);
    await log.next("server:backup.replicate", second.uuid);

    expect(waits).toEqual([1]);
    const aboutFirst = log.events.filter((event) => event.backup === first.uuid).map(({ event }) => event);
    expect(aboutFirst).toEqual(["server:backup.start", "server:backup.complete", "server:backup.delete"]);
    expect(await keysOf(replica)).toEqual([
      `${SERVER}/${second.uuid}.json`,
      `${SERVER}/${second.uuid}.tar.gz`,
    ]);
    await manager.close();
  });

  it("leaves a copy cut short by a stop pending, and makes it when the next manager starts", async () => {
    const dir = await dirs.make("replica-crash");
    const replicaRoot = join(dir, "replica");
    const stalling = stallArchives(createLocalStorage({ root: replicaRoot }));
    const first = await setup(stalling.storage);
    const { uuid } = await first.manager.create(SERVER);
    expect((await first.manager.wait(SERVER, uuid)).is_successful).toBe(true);
    await stalling.uploading;
    await first.manager.close();
    const left = await createManifestCatalog(first.primary).get(SERVER, uuid);
    expect(left?.copies).toMatchObject([{ disk: "local", state: "pending" }]);
    expect(await keysOf(createLocalStorage({ root: replicaRoot }))).toEqual([]);

    const log = eventLog();
    const replica = createLocalStorage({ root: replicaRoot });
    const second = createBackupManager({
      storage: first.primary,
      serverRoot: (id) => join(first.dir, "servers", id),
      onActivity: log.listener,
      replica: { storage: replica },
    });
    await second.recover();
    await log.next("server:backup.replicate", uuid);
    const record = await second.get(SERVER, uuid);
    expect(record.copies).toMatchObject([{ state: "copied" }]);
    expect(await storedDigest(replica, archiveKey(SERVER, uuid))).toEqual({
      checksum: record.checksum,
      size: record.bytes,
    });
    await second.close();
  });
});

describe("a crash with a copy pending", () => {
  it("copies it when the next manager recovers", async () => {
    const dir = await dirs.make("replica-kill");
    const [primaryRoot, replicaRoot, serversRoot] = ["primary", "replica", "servers"].map((name) =>
      join(dir, name),
    ) as [string, string, string];
    await writeTree(join(serversRoot, SERVER), FILES);
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--conditions=source",
        CRASH_FIXTURE,
        primaryRoot,
        replicaRoot,
        serversRoot,
        SERVER,
      ],
      { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
      const { uuid } = JSON.parse(line) as { uuid: string };
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;

      const primary = createLocalStorage({ root: primaryRoot });
      const replica = createLocalStorage({ root: replicaRoot });
      expect((await createManifestCatalog(primary).get(SERVER, uuid))?.copies).toMatchObject([
        { disk: "local", state: "pending" },
      ]);
      expect(await keysOf(replica)).toEqual([]);

      const log = eventLog();
      const manager = createBackupManager({
        storage: primary,
        serverRoot: (id) => join(serversRoot, id),
        onActivity: log.listener,
        replica: { storage: replica },
      });
      await manager.recover();
      await log.next("server:backup.replicate", uuid);
      const record = await manager.get(SERVER, uuid);
      expect(record.copies).toMatchObject([{ state: "copied" }]);
      expect(await storedDigest(replica, archiveKey(SERVER, uuid))).toEqual({
        checksum: record.checksum,
        size: record.bytes,
      });
      await manager.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});

describe("replica options", () => {
  type Case = (primary: StorageAdapter, other: StorageAdapter) => unknown;
  it.each<[string, Case, RegExp]>([
    ["no storage", () => ({}), /needs a storage adapter/],
    ["the primary itself", (primary) => ({ storage: primary }), /is the primary storage itself/],
    ["attempts of 0", (_, other) => ({ storage: other, attempts: 0 }), /attempts must be a whole number/],
    [
      "a backoff that is no function",
      (_, other) => ({ storage: other, backoff: 5 }),
      /backoff must be a function/,
    ],
  ])("refuses %s with INVALID_INPUT", async (_label, replica, message) => {
    const dir = await dirs.make("replica-options");
    const primary = createLocalStorage({ root: join(dir, "primary") });
    const other = createLocalStorage({ root: join(dir, "replica") });
    const options = replica(primary, other) as ReplicaOptions;
    expect(() => createBackupManager({ storage: primary, serverRoot: () => dir, replica: options })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringMatching(message) }),
    );
  });
});

describe("replica retention", () => {
  it("keeps its own number of backups, independent of the primary's, and never a locked one", async () => {
    const replica = createLocalStorage({ root: join(await dirs.make("replica-store"), "r") });
    const { manager, primary, backUp } = await setup(
      replica,
      { retention: createPolicy({ retention: { keepLast: 3 } }).retention },
      { policy: createPolicy({ retention: { keepLast: 2 } }) },
    );
    const made: BackupRecord[] = [];
    made.push((await backUp()).record);
    await manager.setLocked(SERVER, made[0]!.uuid, true);
    for (let i = 0; i < 5; i++) made.push((await backUp()).record);
    const uuids = made.map(({ uuid }) => uuid);

    const onPrimary = (await manager.list(SERVER)).data.map(({ uuid }) => uuid);
    const onReplica = (await createManifestCatalog(replica).list(SERVER)).map(({ uuid }) => uuid);
    // Primary: the locked one and the newest 2. Replica: the locked one (locked after its copy) and the newest 3.
    expect(onPrimary.sort()).toEqual([uuids[0], uuids[4], uuids[5]].sort());
    expect(onReplica.sort()).toEqual([uuids[0], uuids[3], uuids[4], uuids[5]].sort());
    // Backups gone from the primary keep their offsite copy until the replica's retention removes them.
    expect((await keysOf(replica)).filter((key) => key.endsWith(".tar.gz")).length).toBe(4);
    expect((await keysOf(primary)).filter((key) => key.endsWith(".tar.gz")).length).toBe(3);
    await manager.close();
  });

  it("marks a copy its retention removed while the primary still keeps the backup", async () => {
    const replica = createLocalStorage({ root: join(await dirs.make("replica-store"), "r") });
    const { manager, backUp } = await setup(replica, {
      retention: createPolicy({ retention: { keepLast: 1 } }).retention,
    });
    const first = (await backUp()).record;
    const second = (await backUp()).record;

    expect((await manager.get(SERVER, first.uuid)).copies).toMatchObject([{ state: "removed" }]);
    expect((await manager.get(SERVER, second.uuid)).copies).toMatchObject([{ state: "copied" }]);
    expect((await createManifestCatalog(replica).list(SERVER)).map(({ uuid }) => uuid)).toEqual([
      second.uuid,
    ]);
    await manager.close();
  });
});
