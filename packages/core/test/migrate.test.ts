import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLocalStorage } from "../../storage-local/src/index.js";
import { createS3Storage } from "../../storage-s3/src/index.js";
import { type FakeS3, startFakeS3 } from "../../storage-s3/test/helpers/s3rver.js";
import {
  archiveKey,
  type BackupRecord,
  createBackupManager,
  createManifestCatalog,
  createMemoryStorage,
  type MigratedBackup,
  type MigrationPlan,
  manifestKey,
  migrateBackups,
  type OperationProgress,
  type StorageAdapter,
} from "../src/index.js";
import { keysOf, storedDigest, tempDirs, writeTree } from "./fixtures/manager-helpers.js";

let s3: FakeS3;
let s3Run = 0;
beforeAll(async () => {
  s3 = await startFakeS3();
});
afterAll(async () => {
  await s3.stop();
});
const dirs = tempDirs();
afterEach(() => dirs.cleanup());

function s3Storage(): StorageAdapter {
  return createS3Storage({ ...s3.options, prefix: `migrate-${++s3Run}` });
}

/** Three successful backups on two servers, one failed and one still running (in another process). */
async function seed(storage: StorageAdapter): Promise<{ successful: BackupRecord[] }> {
  const dir = await dirs.make("migrate-src");
  await writeTree(join(dir, "srv-a"), { "a.txt": "alpha", "world/level.dat": "level" });
  await writeTree(join(dir, "srv-b"), { "b.txt": "beta" });
  const manager = createBackupManager({ storage, serverRoot: (id) => join(dir, id) });
  const successful: BackupRecord[] = [];
  for (const server of ["srv-a", "srv-a", "srv-b"]) {
    const { uuid } = await manager.create(server);
    successful.push(await manager.wait(server, uuid));
  }
  // Cancelled as soon as created, so it fails.
  await writeTree(join(dir, "srv-c"), { "c.txt": "gamma" });
  const cancel = new AbortController();
  const failed = await manager.create("srv-c", { signal: cancel.signal });
  cancel.abort();
  expect((await manager.wait("srv-c", failed.uuid)).is_successful).toBe(false);
  await createManifestCatalog(storage).put({
    ...successful[0]!,
    uuid: "99999999-9999-4999-8999-999999999999",
    checksum: null,
    bytes: 0,
    is_successful: false,
    completed_at: null,
    owner: { host: "elsewhere", pid: 1, heartbeat_at: new Date().toISOString() },
  });
  expect(successful.every((record) => record.is_successful)).toBe(true);
  return { successful };
}

async function expectCopies(storage: StorageAdapter, records: BackupRecord[]): Promise<void> {
  const catalog = createManifestCatalog(storage);
  for (const record of records) {
    const copy = await catalog.get(record.server, record.uuid);
    expect(copy).toEqual({ ...record, disk: storage.name });
    expect(await storedDigest(storage, archiveKey(record.server, record.uuid))).toEqual({
      checksum: record.checksum,
      size: record.bytes,
    });
  }
}

describe("migrateBackups", () => {
  it("copies local -> S3 -> local with equal checksums, and a second run copies nothing", async () => {
    const local = createLocalStorage({ root: await dirs.make("migrate-local") });
    const { successful } = await seed(local);
    const remote = s3Storage();

    const results: MigratedBackup[] = [];
    const progress: OperationProgress[] = [];
    const there = await migrateBackups({
      from: local,
      to: remote,
      onBackup: (result) => results.push(result),
      onProgress: (report) => progress.push(report),
    });
    expect(there).toEqual({ copied: 3, skipped: 2, failed: [] });
    expect(
      results
        .filter((result) => result.status === "skipped")
        .map((result) => result.reason)
        .sort(),
    ).toEqual(["failed_backup", "in_progress"]);
    expect(progress.filter((report) => report.operation === "migrate").length).toBeGreaterThanOrEqual(3);
    await expectCopies(remote, successful);
    expect(await keysOf(remote)).toHaveLength(6);

    const back = createLocalStorage({ root: await dirs.make("migrate-back") });
    expect(await migrateBackups({ from: remote, to: back })).toEqual({ copied: 3, skipped: 0, failed: [] });
    await expectCopies(back, successful);

    expect(await migrateBackups({ from: local, to: remote })).toEqual({ copied: 0, skipped: 5, failed: [] });
  });

  it("copies one server only when asked", async () => {
    const from = createMemoryStorage();
    const { successful } = await seed(from);
    const to = createMemoryStorage();
    expect(await migrateBackups({ from, to, server: "srv-b" })).toEqual({
      copied: 1,
      skipped: 0,
      failed: [],
    });
    await expectCopies(
      to,
      successful.filter((record) => record.server === "srv-b"),
    );
    await expect(migrateBackups({ from, to, server: "../x" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });

  it("plans the run before the first copy: every backup and the bytes their results add up to", async () => {
    const from = createMemoryStorage();
    const { successful } = await seed(from);
    const heard: (MigrationPlan | MigratedBackup)[] = [];
    await migrateBackups({
      from,
      to: createMemoryStorage(),
      onPlanned: (plan) => heard.push(plan),
      onBackup: (result) => heard.push(result),
    });

    const bytes = successful.reduce((sum, record) => sum + record.bytes, 0);
    expect(bytes).toBeGreaterThan(0);
    expect(heard[0]).toEqual({ backups: 5, bytes });
    const results = heard.slice(1) as MigratedBackup[];
    expect(results).toHaveLength(5);
    expect(results.reduce((sum, result) => sum + result.bytes, 0)).toBe(bytes);
    for (const record of successful) {
      expect(results.find((result) => result.uuid === record.uuid)?.bytes).toBe(record.bytes);
    }
  });

  it("resumes a run stopped half-way", async () => {
    const from = createMemoryStorage();
    const { successful } = await seed(from);
    const to = createMemoryStorage();
    const controller = new AbortController();
    const stopped = migrateBackups({
      from,
      to,
      concurrency: 1,
      signal: controller.signal,
      onBackup: (result) => {
        if (result.status === "copied") controller.abort();
      },
    });
    await expect(stopped).rejects.toMatchObject({ code: "ABORTED" });
    const manifests = (await keysOf(to)).filter((key) => key.endsWith(".json"));
    expect(manifests).toHaveLength(1);

    expect(await migrateBackups({ from, to })).toEqual({ copied: 2, skipped: 3, failed: [] });
    await expectCopies(to, successful);
  });

  it("copies again an archive whose manifest never arrived", async () => {
    const from = createMemoryStorage();
    const { successful } = await seed(from);
    const to = createMemoryStorage();
    await migrateBackups({ from, to });
    const [first] = successful;
    await to.delete(manifestKey(first!.server, first!.uuid));
    expect(await migrateBackups({ from, to })).toEqual({ copied: 1, skipped: 4, failed: [] });
    await expectCopies(to, successful);
  });

  it("reports a backup whose archive does not match its checksum, and keeps no copy of it", async () => {
    const from = createMemoryStorage();
    const { successful } = await seed(from);
    // srv-b's archive: valid, but not the bytes srv-a's record vouches for.
    const [first, , other] = successful as [BackupRecord, BackupRecord, BackupRecord];
    await from.put(
      archiveKey(first.server, first.uuid),
      await from.get(archiveKey(other.server, other.uuid)),
    );
    const to = createMemoryStorage();
    const summary = await migrateBackups({ from, to });
    expect(summary.copied).toBe(2);
    expect(summary.failed).toEqual([
      { server: first.server, uuid: first.uuid, error: expect.stringMatching(/match/) },
    ]);
    expect(await to.stat(archiveKey(first.server, first.uuid))).toBeUndefined();
    expect(await to.stat(manifestKey(first.server, first.uuid))).toBeUndefined();
  });
});
