// Changes to one server's records racing each other on a storage as slow as S3's, with two managers on one
// storage (as two processes) and with one manager: each pair must end in a state one order of the two
// would give.
import { createHash, randomUUID } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import {
  type ActivityEvent,
  archiveKey,
  type BackupManager,
  type BackupRecord,
  type BackupWarning,
  createBackupManager,
  createManifestCatalog,
  createMemoryStorage,
  isStrongboxError,
  type StorageAdapter,
} from "@strongbox/core";
import { afterEach, describe, expect, it } from "vitest";
import { tempDirs } from "../../core/test/fixtures/manager-helpers.js";
import { createPolicy, type PolicyOptions } from "../src/index.js";
import { FILES, keysOf, SERVER, writeTree } from "./integration-setup.js";

const LIMIT = 3;
const TRIALS = 3;
const ARCHIVE = Buffer.from("not really a tar.gz, but the manager never reads it here");

const dirs = tempDirs();
const managers: BackupManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  await dirs.cleanup();
});

/** Every call first waits a few random milliseconds, as an S3 round trip does: calls started together interleave. */
function slowStorage(inner: StorageAdapter): StorageAdapter {
  const lag = () => delay(1 + Math.random() * 12);
  return {
    ...inner,
    put: async (key, body, options) => {
      await lag();
      return inner.put(key, body, options);
    },
    get: async (key, options) => {
      await lag();
      return inner.get(key, options);
    },
    stat: async (key) => {
      await lag();
      return inner.stat(key);
    },
    delete: async (key) => {
      await lag();
      return inner.delete(key);
    },
    async *list(prefix) {
      await lag();
      yield* inner.list(prefix);
    },
  };
}

/** Stores `count` finished successful backups directly (archive, then manifest), oldest first. */
async function seed(
  storage: StorageAdapter,
  count: number,
  locked: (index: number) => boolean = () => false,
) {
  const catalog = createManifestCatalog(storage);
  const seeded: BackupRecord[] = [];
  for (let index = 0; index < count; index++) {
    const uuid = randomUUID();
    await storage.put(archiveKey(SERVER, uuid), Readable.from([ARCHIVE]));
    const created = new Date(Date.UTC(2025, 0, 1, index)).toISOString().replace("Z", "+00:00");
    const record: BackupRecord = {
      uuid,
      server: SERVER,
      name: `seeded ${index}`,
      ignored_files: [],
      checksum: `sha256:${createHash("sha256").update(ARCHIVE).digest("hex")}`,
      bytes: ARCHIVE.length,
      is_successful: true,
      is_locked: locked(index),
      created_at: created,
      completed_at: created,
      disk: storage.name,
    };
    await catalog.put(record);
    seeded.push(record);
  }
  return seeded;
}

/** Two managers on one slow storage (`two`), or one manager twice; both see the events and warnings. */
async function setup(
  two: boolean,
  policy: PolicyOptions,
  onEvent: (event: ActivityEvent) => void = () => {},
) {
  const dir = await dirs.make("races");
  await writeTree(join(dir, SERVER), FILES);
  const memory = createMemoryStorage();
  const storage = slowStorage(memory);
  const events: ActivityEvent[] = [];
  const warnings: BackupWarning[] = [];
  const make = (host: string) => {
    const manager = createBackupManager({
      storage,
      host,
      policy: createPolicy(policy),
      serverRoot: (server) => join(dir, server),
      onActivity: (event) => {
        events.push(event);
        onEvent(event);
      },
      onWarning: (warning) => warnings.push(warning),
    });
    managers.push(manager);
    return manager;
  };
  const a = make("node-a");
  const b = two ? make("node-b") : a;
  return { memory, a, b, events, warnings };
}

/** What must hold whatever the order: at most LIMIT backups, every successful one with its archive, no lock left. */
async function expectConsistent(memory: StorageAdapter): Promise<BackupRecord[]> {
  const records = await createManifestCatalog(memory).list(SERVER);
  expect(records.length).toBeLessThanOrEqual(LIMIT);
  for (const record of records.filter((candidate) => candidate.is_successful)) {
    expect(await memory.stat(archiveKey(SERVER, record.uuid)), `archive of ${record.name}`).toBeDefined();
  }
  expect((await keysOf(memory)).filter((key) => key.endsWith(".lock"))).toEqual([]);
  return records;
}

/** A lock answered as done holds: the record is there, locked, with its archive. */
async function expectKept(memory: StorageAdapter, uuid: string): Promise<void> {
  const record = await createManifestCatalog(memory).get(SERVER, uuid);
  expect(record?.is_locked).toBe(true);
  expect(await memory.stat(archiveKey(SERVER, uuid))).toBeDefined();
}

/** The refusal codes a racing call may answer with; anything else fails the test. */
function expectOnly(result: PromiseSettledResult<unknown>, codes: string[]): boolean {
  if (result.status === "fulfilled") return true;
  const known = codes.some((code) => isStrongboxError(result.reason, code as never));
  if (!known) throw result.reason;
  return false;
}

describe.each([
  { setting: "two managers on one storage", two: true },
  { setting: "one manager", two: false },
])("record changes racing on a slow storage, $setting", ({ two }) => {
  it("lock vs rotation: a lock that answers locked keeps the backup; the limit holds", async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { memory, a, b } = await setup(two, { maxBackups: LIMIT });
      const [oldest] = await seed(memory, LIMIT);
      const [locking, creating] = await Promise.allSettled([
        a.setLocked(SERVER, oldest!.uuid, true),
        b.create(SERVER, { scheduled: true }),
      ]);
      if (expectOnly(locking, ["NOT_FOUND"])) await expectKept(memory, oldest!.uuid);
      if (creating.status === "rejected") throw creating.reason;
      expect(await b.wait(SERVER, creating.value.uuid)).toMatchObject({ is_successful: true });
      await expectConsistent(memory);
    }
  });

  it("unlock vs rotation: the limit holds and no successful backup loses its archive", async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { memory, a, b } = await setup(two, { maxBackups: LIMIT });
      const [oldest] = await seed(memory, LIMIT, (index) => index === 0);
      const [unlocking, creating] = await Promise.allSettled([
        a.setLocked(SERVER, oldest!.uuid, false),
        b.create(SERVER, { scheduled: true }),
      ]);
      expectOnly(unlocking, ["NOT_FOUND"]);
      if (creating.status === "rejected") throw creating.reason;
      expect(await b.wait(SERVER, creating.value.uuid)).toMatchObject({ is_successful: true });
      expect(await expectConsistent(memory)).toHaveLength(LIMIT);
    }
  });

  it("lock vs delete: exactly one wins, and a lock that answers locked keeps the backup", async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { memory, a, b } = await setup(two, { maxBackups: LIMIT });
      const [, target] = await seed(memory, LIMIT);
      const [locking, deleting] = await Promise.allSettled([
        a.setLocked(SERVER, target!.uuid, true),
        b.delete(SERVER, target!.uuid),
      ]);
      const locked = expectOnly(locking, ["NOT_FOUND"]);
      const deleted = expectOnly(deleting, ["BACKUP_LOCKED"]);
      expect([locked, deleted].filter(Boolean)).toHaveLength(1);
      if (locked) await expectKept(memory, target!.uuid);
      else expect(await memory.stat(archiveKey(SERVER, target!.uuid))).toBeUndefined();
      await expectConsistent(memory);
    }
  });

  it("lock vs forget on demand: a lock that answers locked keeps the backup, else forget removed it", async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { memory, a, b } = await setup(two, { maxBackups: LIMIT, retention: { keepLast: 1 } });
      const [oldest] = await seed(memory, LIMIT);
      const [locking, forgetting] = await Promise.allSettled([
        a.setLocked(SERVER, oldest!.uuid, true),
        b.forget(SERVER),
      ]);
      if (forgetting.status === "rejected") throw forgetting.reason;
      const removed = forgetting.value.removed.map((record) => record.uuid);
      if (expectOnly(locking, ["NOT_FOUND"])) {
        await expectKept(memory, oldest!.uuid);
        expect(removed).not.toContain(oldest!.uuid);
      } else {
        expect(removed).toContain(oldest!.uuid);
      }
      expect(await expectConsistent(memory)).toHaveLength(locking.status === "fulfilled" ? 2 : 1);
    }
  });

  it("delete vs retention: the backup is deleted once, with no warning", async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      // Retention removes the oldest once the new backup completes; a delete of it is asked at that moment.
      let deleting: Promise<PromiseSettledResult<void>> | undefined;
      let oldest: BackupRecord | undefined;
      const { memory, a, b, events, warnings } = await setup(
        two,
        { maxBackups: LIMIT, retention: { keepLast: 2 } },
        (event) => {
          if (event.event !== "server:backup.complete" || deleting || !oldest) return;
          deleting = Promise.allSettled([b.delete(SERVER, oldest.uuid)]).then(([result]) => result!);
        },
      );
      [oldest] = await seed(memory, 2);
      const created = await a.create(SERVER);
      expect(await a.wait(SERVER, created.uuid)).toMatchObject({ is_successful: true });
      expect(deleting).toBeDefined();
      expectOnly((await deleting) as PromiseSettledResult<void>, ["NOT_FOUND"]);
      const deletes = events.filter((event) => event.event === "server:backup.delete");
      expect(deletes.map((event) => event.backup)).toEqual([oldest!.uuid]);
      expect(warnings).toEqual([]);
      const records = await expectConsistent(memory);
      expect(records.map((record) => record.uuid)).not.toContain(oldest!.uuid);
    }
  });
});
