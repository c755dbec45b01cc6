import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type StorageAdapter, StrongboxError } from "@strongbox/core";
import { describe, expect, test } from "vitest";
import { type StorageFactory, useTestStorages } from "../../core/test/fixtures/test-storages.js";
import { snapshotTree, type TreeNode } from "../../core/test/helpers/extract-tree.js";
import { useTempDirs } from "../../core/test/helpers/tree.js";
import {
  backup,
  ChunkIndex,
  createPackWriter,
  forgetSnapshots,
  initRepository,
  listIndexObjects,
  listLocks,
  listSnapshots,
  loadIndex,
  openRepository,
  type PruneProgress,
  prune,
  type Repository,
  readTree,
  restoreSnapshot,
  type Snapshot,
} from "../src/index.js";

const KiB = 1024;
const KDF = { N: 2 ** 10, r: 8, p: 1 };
const PREFIX = "repo";
const tempDir = useTempDirs();
const STORAGES = useTestStorages("repo-prune", ["memory", "local", "s3"]);

type Tree = Record<string, TreeNode>;

/** What a prune that had nothing to do reports. */
const NOTHING = {
  packsDeleted: 0,
  packsRepacked: 0,
  packsWritten: 0,
  unindexedPacksDeleted: 0,
  bytesFreed: 0,
  chunksRemoved: 0,
  chunksRepacked: 0,
  indexObjectsReplaced: 0,
  indexObjectsWritten: 0,
};

async function writeRandom(root: string, path: string, bytes: number): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), randomBytes(bytes));
}

/** Backs `source` up and records the tree it saw, to compare restores with. */
async function backupRecorded(
  repo: Repository,
  source: string,
  server: string,
  expected: Map<string, Tree>,
): Promise<Snapshot> {
  const snapshot = await backup(repo, { source, server });
  expected.set(snapshot.id, snapshotTree(source));
  return snapshot;
}

let restores = 0;
/** Restores every snapshot of `expected` into a fresh folder and compares it with what was backed up. */
async function expectRestores(repo: Repository, expected: Map<string, Tree>, dir: string): Promise<void> {
  for (const [id, tree] of expected) {
    const target = join(dir, `restore-${++restores}`);
    await restoreSnapshot(repo, id, target, { mode: "truncate" });
    expect(snapshotTree(target), `snapshot ${id}`).toEqual(tree);
    await rm(target, { recursive: true, force: true });
  }
}

/** The hex ids of every chunk a snapshot uses: its tree's and its files'. */
async function chunksOf(repo: Repository, snapshot: Snapshot): Promise<Set<string>> {
  const { index } = await loadIndex(repo);
  const ids = new Set(snapshot.tree);
  for await (const entry of readTree(repo, index, snapshot)) {
    for (let at = 0; at < entry.chunks.length; at += 32) {
      ids.add(Buffer.from(entry.chunks.subarray(at, at + 32)).toString("hex"));
    }
  }
  return ids;
}

async function indexedChunks(repo: Repository): Promise<Set<string>> {
  const { index } = await loadIndex(repo);
  return new Set([...index.entries()].map(([id]) => Buffer.from(id).toString("hex")));
}

/** Every object of a storage: key → sha256 of its bytes. */
async function contents(storage: StorageAdapter): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for await (const info of storage.list("")) {
    const hash = createHash("sha256");
    for await (const part of await storage.get(info.key)) hash.update(part as Uint8Array);
    found.set(info.key, hash.digest("hex"));
  }
  return found;
}

/** The same, without lock objects (a refused call's lock attempts come and go). */
async function contentsBesideLocks(storage: StorageAdapter): Promise<Map<string, string>> {
  const found = await contents(storage);
  for (const key of found.keys()) if (key.startsWith(`${PREFIX}/locks/`)) found.delete(key);
  return found;
}

async function packBytes(storage: StorageAdapter): Promise<number> {
  let bytes = 0;
  for await (const info of storage.list(`${PREFIX}/data/`)) bytes += info.size;
  return bytes;
}

async function refusal(promise: Promise<unknown>): Promise<StrongboxError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StrongboxError);
  return error as StrongboxError;
}

/** Passes every call to `inner`, with hooks before puts and deletes and after deletes. */
function hooked(
  inner: StorageAdapter,
  hooks: {
    beforePut?: (key: string) => Promise<void> | void;
    beforeDelete?: (key: string) => void;
    afterDelete?: (key: string) => void;
  },
): StorageAdapter {
  return {
    name: inner.name,
    async put(key, body, options) {
      await hooks.beforePut?.(key);
      return inner.put(key, body, options);
    },
    get: (key, options) => inner.get(key, options),
    stat: (key) => inner.stat(key),
    async delete(key) {
      hooks.beforeDelete?.(key);
      await inner.delete(key);
      hooks.afterDelete?.(key);
    },
    list: (prefix) => inner.list(prefix),
  };
}

/**
 * A storage whose puts can be held: `hold(match)` makes every put of a matching key wait (before it
 * writes anything) until `release()`; `entered` resolves once the first one waits. (A backup may have a
 * data pack and a tree pack uploading at once: both wait.) `deleted(match)` resolves after the
 * next delete of a matching key.
 */
function controllable(inner: StorageAdapter) {
  const holds: { match: (key: string) => boolean; enter: () => void; released: Promise<void> }[] = [];
  const watchers: { match: (key: string) => boolean; resolve: () => void }[] = [];
  const storage = hooked(inner, {
    async beforePut(key) {
      const hold = holds.find((candidate) => candidate.match(key));
      if (!hold) return;
      hold.enter();
      await hold.released;
    },
    afterDelete(key) {
      for (let at = watchers.length - 1; at >= 0; at--) {
        if (watchers[at]!.match(key)) watchers.splice(at, 1)[0]!.resolve();
      }
    },
  });
  return {
    storage,
    hold(match: (key: string) => boolean) {
      let enter!: () => void;
      let open!: () => void;
      const entered = new Promise<void>((resolve) => (enter = resolve));
      const released = new Promise<void>((resolve) => (open = resolve));
      const hold = { match, enter, released };
      holds.push(hold);
      const release = () => {
        holds.splice(holds.indexOf(hold), 1);
        open();
      };
      return { entered, release };
    },
    deleted(match: (key: string) => boolean) {
      return new Promise<void>((resolve) => watchers.push({ match, resolve }));
    },
  };
}

/**
 * A storage that "dies" at its `failAt`-th put or delete outside `locks/`: that call and every later one
 * throws before touching anything, as a process killed there would stop. Lock objects still come and go,
 * so the crashed prune's lock is released (a real crash leaves it to go stale; the lock tests cover that).
 */
function crashing(inner: StorageAdapter, failAt: number) {
  let calls = 0;
  let crashed = false;
  const step = (key: string) => {
    if (key.startsWith(`${PREFIX}/locks/`)) return;
    if (crashed || ++calls === failAt) {
      crashed = true;
      throw new Error(`simulated crash at write ${failAt} (${key})`);
    }
  };
  return {
    storage: hooked(inner, { beforePut: step, beforeDelete: step }),
    crashed: () => crashed,
  };
}

async function copyStorage(from: StorageAdapter, to: StorageAdapter): Promise<void> {
  for await (const info of from.list("")) await to.put(info.key, await from.get(info.key));
}

describe.each(STORAGES)("forget and prune on %s", (_, makeStorage: StorageFactory) => {
  test.each([
    ["without a password", undefined],
    ["with a password", "pw"],
  ])(
    "two servers: forgotten snapshots' chunks go, the others restore byte-identical (%s)",
    async (_, password) => {
      const dir = await tempDir("strongbox-prune-");
      const storage = makeStorage(dir);
      const repo = await initRepository({ storage, prefix: PREFIX, password, kdf: KDF });
      const expected = new Map<string, Tree>();

      const one = join(dir, "one");
      await writeRandom(one, "a.bin", 160 * KiB);
      await writeRandom(one, "b.bin", 96 * KiB);
      await writeRandom(one, "plugins/c.bin", 64 * KiB);
      await writeFile(join(one, "server.properties"), "motd=A Minecraft Server\n".repeat(50));
      const one1 = await backupRecorded(repo, one, "one", expected);
      await writeRandom(one, "b.bin", 100 * KiB);
      await rm(join(one, "plugins", "c.bin"));
      await writeRandom(one, "plugins/d.bin", 48 * KiB);
      const one2 = await backupRecorded(repo, one, "one", expected);
      const a = await readFile(join(one, "a.bin"));
      randomBytes(4 * KiB).copy(a, 80 * KiB);
      await writeFile(join(one, "a.bin"), a);
      const one3 = await backupRecorded(repo, one, "one", expected);

      const two = join(dir, "two");
      await writeRandom(two, "x.bin", 128 * KiB);
      await writeRandom(two, "y.bin", 96 * KiB);
      const two1 = await backupRecorded(repo, two, "two", expected);
      await rm(join(two, "y.bin"));
      await writeRandom(two, "world/z.bin", 64 * KiB);
      const two2 = await backupRecorded(repo, two, "two", expected);

      const kept = new Set<string>();
      for (const snapshot of [one2, one3, two2])
        for (const id of await chunksOf(repo, snapshot)) kept.add(id);
      const forgottenOnly = new Set<string>();
      for (const snapshot of [one1, two1]) {
        for (const id of await chunksOf(repo, snapshot)) if (!kept.has(id)) forgottenOnly.add(id);
      }
      expect(forgottenOnly.size).toBeGreaterThan(3);

      // Unknown or malformed ids are refused before anything is deleted.
      const unknown = "0".repeat(32);
      expect((await refusal(forgetSnapshots(repo, [one1.id, unknown]))).code).toBe("NOT_FOUND");
      expect((await refusal(forgetSnapshots(repo, [one1.id, "not-an-id"]))).code).toBe("INVALID_INPUT");
      expect(await listSnapshots(repo)).toHaveLength(5);

      await forgetSnapshots(repo, [one1.id, two1.id, one1.id]);
      expect((await listSnapshots(repo)).map((s) => s.id).sort()).toEqual([one2.id, one3.id, two2.id].sort());
      expected.delete(one1.id);
      expected.delete(two1.id);
      // Forget leaves the data: every chunk is still indexed.
      expect((await indexedChunks(repo)).size).toBe(kept.size + forgottenOnly.size);
      expect(await listLocks(repo)).toEqual([]);

      const before = await packBytes(storage);
      const phases: PruneProgress["phase"][] = [];
      const result = await prune(repo, {
        onProgress: ({ phase }) => {
          if (phases.at(-1) !== phase) phases.push(phase);
        },
      });
      expect(phases).toEqual(["mark", "repack", "index", "delete"]);
      // Both first snapshots' data packs are about half garbage: repacked at the default threshold, into one
      // pack. Their tree packs hold only their trees: deleted whole.
      expect(result).toEqual({
        dryRun: false,
        snapshots: 3,
        packsDeleted: 2,
        packsRepacked: 2,
        packsWritten: 1,
        unindexedPacksDeleted: 0,
        bytesFreed: expect.any(Number),
        chunksRemoved: forgottenOnly.size,
        chunksRepacked: expect.any(Number),
        indexObjectsReplaced: 5,
        indexObjectsWritten: 1,
        staleLocksRemoved: [],
      });
      expect(result.bytesFreed).toBeGreaterThan(200 * KiB);
      expect(before - (await packBytes(storage))).toBe(result.bytesFreed);
      const indexed = await indexedChunks(repo);
      expect(indexed.size).toBe(kept.size);
      for (const id of kept) expect(indexed.has(id)).toBe(true);
      for (const id of forgottenOnly) expect(indexed.has(id)).toBe(false);
      expect(await listIndexObjects(repo)).toHaveLength(1);
      expect(await listLocks(repo)).toEqual([]);

      await expectRestores(repo, expected, dir);
      // A repository opened afresh reads the same.
      await expectRestores(await openRepository({ storage, prefix: PREFIX, password }), expected, dir);
      // Nothing left to do, even repacking every pack with a byte unused.
      expect(await prune(repo, { repackThreshold: 0 })).toMatchObject({ ...NOTHING, snapshots: 3 });

      // A later backup that changes nothing stores nothing: its chunks survived the prune.
      const one4 = await backup(repo, { source: one, server: "one" });
      expect(one4.counts).toMatchObject({ newChunks: 0, unchangedFiles: 4 });
    },
  );

  test("repack threshold: a half-unused pack is kept at 0.9, repacked at 0.2; dry runs change nothing", async () => {
    const dir = await tempDir("strongbox-prune-");
    const storage = makeStorage(dir);
    const repo = await initRepository({ storage, prefix: PREFIX });
    const expected = new Map<string, Tree>();
    const source = join(dir, "source");
    await writeRandom(source, "keep.bin", 128 * KiB);
    await writeRandom(source, "drop.bin", 128 * KiB);
    const first = await backupRecorded(repo, source, "s1", expected);
    const dropped = await chunksOf(repo, first);
    await rm(join(source, "drop.bin"));
    const second = await backupRecorded(repo, source, "s1", expected);
    for (const id of await chunksOf(repo, second)) dropped.delete(id);
    // drop.bin's chunks, in the data pack kept half used (first's tree goes with its own pack).
    for (const id of first.tree) dropped.delete(id);

    const gone = join(dir, "gone");
    await writeRandom(gone, "g.bin", 64 * KiB);
    const goneSnapshot = await backup(repo, { source: gone, server: "gone" });
    // The leftover of an interrupted backup: a pack no index lists.
    const writer = createPackWriter(repo);
    const orphan = randomBytes(20 * KiB);
    await writer.add([{ id: Buffer.from(repo.chunkId(orphan), "hex"), bytes: orphan }]);
    await writer.flush();

    await forgetSnapshots(repo, [first.id, goneSnapshot.id]);
    expected.delete(first.id);

    const untouched = await contents(storage);
    const dry1 = await prune(repo, { repackThreshold: 1, dryRun: true });
    // Gone's data pack and both forgotten snapshots' tree packs hold nothing kept.
    expect(dry1).toMatchObject({ dryRun: true, packsDeleted: 3, unindexedPacksDeleted: 1, packsRepacked: 0 });
    const dry09 = await prune(repo, { repackThreshold: 0.9, dryRun: true });
    expect(dry09).toEqual({ ...dry1, staleLocksRemoved: [] });
    expect(await contents(storage)).toEqual(untouched);

    const kept = await prune(repo, { repackThreshold: 0.9 });
    expect({ ...kept, dryRun: true }).toEqual(dry09);
    expect(kept).toMatchObject({
      packsDeleted: 3,
      unindexedPacksDeleted: 1,
      packsRepacked: 0,
      packsWritten: 0,
      indexObjectsReplaced: 3,
      indexObjectsWritten: 1,
    });
    // The half-unused pack stays whole: its unused chunks stay indexed.
    const afterKeep = await indexedChunks(repo);
    for (const id of dropped) expect(afterKeep.has(id)).toBe(true);
    await expectRestores(repo, expected, dir);
    expect(await prune(repo, { repackThreshold: 0.9 })).toMatchObject(NOTHING);

    const before = await contents(storage);
    const dry02 = await prune(repo, { repackThreshold: 0.2, dryRun: true });
    expect(dry02).toMatchObject({ packsRepacked: 1, packsWritten: 1, packsDeleted: 0 });
    expect(await contents(storage)).toEqual(before);

    const bytesBefore = await packBytes(storage);
    const repacked = await prune(repo, { repackThreshold: 0.2 });
    // The dry run foretold it exactly, bytes included.
    expect({ ...repacked, dryRun: true }).toEqual(dry02);
    expect(repacked.chunksRemoved).toBe(dropped.size);
    expect(bytesBefore - (await packBytes(storage))).toBe(repacked.bytesFreed);
    expect(repacked.bytesFreed).toBeGreaterThan(100 * KiB);
    const afterRepack = await indexedChunks(repo);
    for (const id of dropped) expect(afterRepack.has(id)).toBe(false);
    await expectRestores(repo, expected, dir);
    expect(await prune(repo, { repackThreshold: 0 })).toMatchObject(NOTHING);
  });

  test("a repack keeps tree chunks in packs of their own, as the dry run foretold", async () => {
    const dir = await tempDir("strongbox-prune-");
    const storage = makeStorage(dir);
    const repo = await initRepository({ storage, prefix: PREFIX });
    const expected = new Map<string, Tree>();
    const source = join(dir, "source");
    // A tree of many entries cuts into several tree chunks; changing the last file changes only the last.
    for (let n = 0; n < 1500; n++)
      await writeRandom(source, `configs/config-${String(n).padStart(4, "0")}.yml`, 64);
    await writeRandom(source, "zz/world.bin", 96 * KiB);
    const first = await backupRecorded(repo, source, "s1", expected);
    await writeRandom(source, "zz/world.bin", 96 * KiB);
    const second = await backupRecorded(repo, source, "s1", expected);
    expect(first.tree.length).toBeGreaterThan(3);
    expect(second.tree.filter((id) => first.tree.includes(id)).length).toBeGreaterThan(2);
    await forgetSnapshots(repo, [first.id]);
    expected.delete(first.id);

    // Repacking everything partly unused: first's data pack (the old world.bin) and first's tree pack (its
    // last tree chunk unused, the others second's).
    const dry = await prune(repo, { repackThreshold: 0, dryRun: true });
    expect(dry).toMatchObject({ packsRepacked: 2, packsWritten: 2 });
    const result = await prune(repo, { repackThreshold: 0 });
    expect({ ...result, dryRun: true }).toEqual({ ...dry, staleLocksRemoved: [] });

    const { index } = await loadIndex(repo);
    const treeIds = new Set(second.tree);
    const treePacks = new Set(second.tree.map((id) => index.get(Buffer.from(id, "hex"))!.pack));
    for (const [id, location] of index.entries()) {
      expect(treePacks.has(location.pack)).toBe(treeIds.has(Buffer.from(id).toString("hex")));
    }
    await expectRestores(repo, expected, dir);
  });

  test("a large index is written as several objects of at most indexObjectEntries entries", async () => {
    const dir = await tempDir("strongbox-prune-");
    const storage = makeStorage(dir);
    const repo = await initRepository({ storage, prefix: PREFIX });
    const expected = new Map<string, Tree>();
    const source = join(dir, "source");
    for (let n = 0; n < 6; n++) await writeRandom(source, `f${n}.bin`, 64 * KiB);
    const first = await backupRecorded(repo, source, "s1", expected);
    await rm(join(source, "f0.bin"));
    await backupRecorded(repo, source, "s1", expected);
    await forgetSnapshots(repo, [first.id]);
    expected.delete(first.id);
    const entries = (await loadIndex(repo)).index.size;

    const result = await prune(repo, { repackThreshold: 0, indexObjectEntries: 5 });
    const left = entries - result.chunksRemoved;
    expect(result.indexObjectsWritten).toBe(Math.ceil(left / 5));
    expect(await listIndexObjects(repo)).toHaveLength(Math.ceil(left / 5));
    expect((await loadIndex(repo)).index.size).toBe(left);
    await expectRestores(repo, expected, dir);
    expect(await prune(repo, { repackThreshold: 0, indexObjectEntries: 5 })).toMatchObject(NOTHING);
  });

  test("a snapshot that cannot be read, or whose pack is missing, refuses the prune: nothing is deleted", async () => {
    const dir = await tempDir("strongbox-prune-");
    const storage = makeStorage(dir);
    const repo = await initRepository({ storage, prefix: PREFIX });
    const source = join(dir, "source");
    await writeRandom(source, "a.bin", 64 * KiB);
    const first = await backup(repo, { source, server: "s1" });
    await writeRandom(source, "b.bin", 64 * KiB);
    const second = await backup(repo, { source, server: "s2" });
    await forgetSnapshots(repo, [first.id]);

    // A damaged snapshot object.
    await storage.put(
      `${PREFIX}/snapshots/ffffffff/${"f".repeat(32)}`,
      (async function* () {
        yield Buffer.from("not a snapshot");
      })(),
    );
    const before = await contents(storage);
    const damaged = await refusal(prune(repo));
    expect(damaged.code).toBe("INVALID_INPUT");
    expect(damaged.message).toMatch(/snapshot f{32} cannot be read.*Run check/);
    expect(await contents(storage)).toEqual(before);
    await storage.delete(`${PREFIX}/snapshots/ffffffff/${"f".repeat(32)}`);

    // The pack of the kept snapshot's tree, gone: its tree cannot be read.
    const { index } = await loadIndex(repo);
    const treePack = index.get(Buffer.from(second.tree[0]!, "hex"))!.pack;
    await storage.delete(`${PREFIX}/data/${treePack.slice(0, 2)}/${treePack}`);
    const after = await contents(storage);
    const missing = await refusal(prune(repo, { repackThreshold: 0 }));
    expect(missing.code).toBe("INVALID_INPUT");
    expect(missing.message).toMatch(/Run check/);
    expect(await contents(storage)).toEqual(after);
    expect(await listLocks(repo)).toEqual([]);
  });

  test("stopped after any write, the repository restores every snapshot and a new prune finishes", async () => {
    const dir = await tempDir("strongbox-prune-");
    const template = makeStorage(await tempDir("strongbox-prune-"));
    const repo = await initRepository({ storage: template, prefix: PREFIX });
    const expected = new Map<string, Tree>();
    const one = join(dir, "one");
    await writeRandom(one, "a.bin", 96 * KiB);
    await writeRandom(one, "b.bin", 64 * KiB);
    const one1 = await backup(repo, { source: one, server: "one" });
    await rm(join(one, "b.bin"));
    await writeRandom(one, "c.bin", 48 * KiB);
    await backupRecorded(repo, one, "one", expected);
    const two = join(dir, "two");
    await writeRandom(two, "x.bin", 48 * KiB);
    const two1 = await backup(repo, { source: two, server: "two" });
    const three = join(dir, "three");
    await writeRandom(three, "y.bin", 32 * KiB);
    await backupRecorded(repo, three, "three", expected);
    const writer = createPackWriter(repo);
    const orphan = randomBytes(16 * KiB);
    await writer.add([{ id: Buffer.from(repo.chunkId(orphan), "hex"), bytes: orphan }]);
    await writer.flush();
    await forgetSnapshots(repo, [one1.id, two1.id]);
    const used = new Set<string>();
    for (const snapshot of await listSnapshots(repo))
      for (const id of await chunksOf(repo, snapshot)) used.add(id);

    let writes = 0;
    for (let failAt = 1; ; failAt++) {
      expect(failAt).toBeLessThan(40);
      const inner = makeStorage(await tempDir("strongbox-prune-"));
      await copyStorage(template, inner);
      const crash = crashing(inner, failAt);
      const outcome = await prune(await openRepository({ storage: crash.storage, prefix: PREFIX }), {
        repackThreshold: 0,
      }).then(
        (result) => result,
        (error: unknown) => error as Error,
      );
      if (!(outcome instanceof Error)) {
        // A prune that made fewer writes than failAt: every stop point was tried.
        expect(crash.crashed()).toBe(false);
        // Two's data pack and both forgotten snapshots' tree packs go whole.
        expect(outcome).toMatchObject({ packsRepacked: 1, packsDeleted: 3, unindexedPacksDeleted: 1 });
        writes = failAt - 1;
        break;
      }
      expect(crash.crashed(), String(outcome)).toBe(true);
      const after = await openRepository({ storage: inner, prefix: PREFIX });
      await expectRestores(after, expected, dir);
      await prune(after, { repackThreshold: 0 });
      await expectRestores(after, expected, dir);
      expect(await indexedChunks(after)).toEqual(used);
      expect(await prune(after, { repackThreshold: 0 })).toMatchObject(NOTHING);
      expect(await listLocks(after)).toEqual([]);
    }
    // A new pack, the index, four old index objects, then five packs (one repacked, three unused, one unindexed).
    expect(writes).toBe(1 + 1 + 4 + 5);
    // Ten prunes and about forty restores: a guard sized for a loaded machine, not a timing assertion.
  }, 300_000);

  test("a prune is refused while a backup holds its shared lock; the backup then completes and restores", async () => {
    const dir = await tempDir("strongbox-prune-");
    const control = controllable(makeStorage(dir));
    const repo = await initRepository({ storage: control.storage, prefix: PREFIX });
    const expected = new Map<string, Tree>();
    const source = join(dir, "source");
    await writeRandom(source, "a.bin", 64 * KiB);
    await writeRandom(source, "b.bin", 64 * KiB);
    const first = await backupRecorded(repo, source, "s1", expected);
    await writeRandom(source, "b.bin", 80 * KiB);

    const held = control.hold((key) => key.startsWith(`${PREFIX}/data/`));
    const running = backup(repo, { source, server: "s1" });
    await held.entered;
    const before = await contentsBesideLocks(control.storage);
    const refused = await refusal(prune(repo));
    expect(refused.code).toBe("SERVER_STATE_CONFLICT");
    expect(refused.message).toContain("backup of s1");
    expect((await refusal(forgetSnapshots(repo, [first.id]))).code).toBe("SERVER_STATE_CONFLICT");
    expect(await contentsBesideLocks(control.storage)).toEqual(before);

    held.release();
    const second = await running;
    expected.set(second.id, snapshotTree(source));
    await forgetSnapshots(repo, [first.id]);
    expected.delete(first.id);
    expect((await prune(repo, { repackThreshold: 0 })).chunksRemoved).toBeGreaterThan(0);
    await expectRestores(repo, expected, dir);
  });

  test("a backup started while a prune holds the exclusive lock is refused, or waits and then succeeds", async () => {
    const dir = await tempDir("strongbox-prune-");
    const control = controllable(makeStorage(dir));
    const repo = await initRepository({ storage: control.storage, prefix: PREFIX });
    const expected = new Map<string, Tree>();
    const source = join(dir, "source");
    await writeRandom(source, "a.bin", 64 * KiB);
    await writeRandom(source, "b.bin", 64 * KiB);
    const first = await backup(repo, { source, server: "s1" });
    await writeRandom(source, "b.bin", 72 * KiB);
    await backupRecorded(repo, source, "s1", expected);
    await forgetSnapshots(repo, [first.id]);

    // The prune stops just before writing its new index, holding the exclusive lock.
    const held = control.hold((key) => key.startsWith(`${PREFIX}/index/`));
    const pruning = prune(repo, { repackThreshold: 0 });
    await held.entered;
    await writeRandom(source, "c.bin", 32 * KiB);
    const refused = await refusal(backup(repo, { source, server: "s1" }));
    expect(refused.code).toBe("SERVER_STATE_CONFLICT");
    expect(refused.message).toContain('"prune"');

    // A backup that may wait tries, is turned away (it deletes its lock object), and tries again later.
    const turnedAway = control.deleted((key) => key.startsWith(`${PREFIX}/locks/`));
    const waiting = backup(repo, { source, server: "s1", lockWaitMs: 10 * 60_000 });
    await turnedAway;
    held.release();
    const result = await pruning;
    expect(result.packsRepacked + result.packsDeleted).toBeGreaterThan(0);
    const third = await waiting;
    expected.set(third.id, snapshotTree(source));
    await expectRestores(repo, expected, dir);
  });

  test("a prune racing a slowed backup that reuses old chunks: nothing lost", async () => {
    const dir = await tempDir("strongbox-prune-");
    const control = controllable(makeStorage(dir));
    const repo = await initRepository({ storage: control.storage, prefix: PREFIX, password: "pw", kdf: KDF });
    const source = join(dir, "source");
    await writeRandom(source, "world/region.mca", 256 * KiB);
    await writeRandom(source, "server.jar", 128 * KiB);
    await writeFile(join(source, "server.properties"), "max-players=20\n");
    const first = await backup(repo, { source, server: "s1" });
    // Forgotten: its chunks are unused now, but still indexed, so the next backup reuses them.
    await forgetSnapshots(repo, [first.id]);
    await writeFile(join(source, "server.properties"), "max-players=21\n");

    const held = control.hold((key) => key.startsWith(`${PREFIX}/data/`));
    const running = backup(repo, { source, server: "s1" });
    await held.entered;
    const before = await contentsBesideLocks(control.storage);
    const refused = await refusal(prune(repo, { repackThreshold: 0 }));
    expect(refused.code).toBe("SERVER_STATE_CONFLICT");
    expect(await contentsBesideLocks(control.storage)).toEqual(before);

    held.release();
    const second = await running;
    // It reused the region and the jar: only the properties file and the tree are new.
    expect(second.counts.newBytes).toBeLessThan(4 * KiB);
    const expected = new Map([[second.id, snapshotTree(source)]]);
    const result = await prune(repo, { repackThreshold: 0 });
    expect(result.chunksRemoved).toBeGreaterThan(0);
    expect(await indexedChunks(repo)).toEqual(await chunksOf(repo, second));
    await expectRestores(repo, expected, dir);
  });
});

describe("the chunk index's entry numbers", () => {
  test("number entries in the order added, and give each back", () => {
    const index = new ChunkIndex();
    const ids = Array.from({ length: 2000 }, () => randomBytes(32));
    for (const [n, id] of ids.entries())
      index.add(id, { pack: `p${n % 7}`, offset: n, length: 1, rawLength: 2 });
    for (const [n, id] of ids.entries()) {
      expect(index.entryNumber(id)).toBe(n);
      expect(index.entryAt(n)).toEqual([
        new Uint8Array(id),
        { pack: `p${n % 7}`, offset: n, length: 1, rawLength: 2 },
      ]);
    }
    index.compact();
    expect(index.entryNumber(ids[1234]!)).toBe(1234);
    expect(index.entryNumber(randomBytes(32))).toBe(-1);
    expect(() => index.entryAt(2000)).toThrow(RangeError);
  });
});
