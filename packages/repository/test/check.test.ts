import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createMemoryStorage, isStrongboxError, type StorageAdapter } from "@strongbox/core";
import { describe, expect, test } from "vitest";
import { type StorageFactory, useTestStorages } from "../../core/test/fixtures/test-storages.js";
import { useTempDirs } from "../../core/test/helpers/tree.js";
import {
  backup,
  type CheckReport,
  checkRepository,
  createPackWriter,
  deleteSnapshotObject,
  initRepository,
  listIndexObjects,
  loadIndex,
  packKey,
  type Repository,
  readTree,
  restoreSnapshot,
  type Snapshot,
  writeIndexObject,
} from "../src/index.js";

const KDF = { N: 2 ** 10, r: 8, p: 1 };
const KiB = 1024;
const tempDir = useTempDirs();
const STORAGES = useTestStorages("repo-check", ["memory", "local", "s3"]);

interface Read {
  key: string;
  ranged: boolean;
  bytes: number;
}

/** A storage that records every get: its key, whether it was ranged, and the bytes it returned. */
function counting(inner: StorageAdapter): { storage: StorageAdapter; reads: Read[] } {
  const reads: Read[] = [];
  const storage: StorageAdapter = {
    name: inner.name,
    put: (key, body, options) => inner.put(key, body, options),
    async get(key, options) {
      const stream = await inner.get(key, options);
      const read = { key, ranged: options?.range !== undefined, bytes: 0 };
      reads.push(read);
      return Readable.from(
        (async function* () {
          for await (const chunk of stream) {
            read.bytes += (chunk as Uint8Array).length;
            yield chunk;
          }
        })(),
      );
    },
    stat: (key) => inner.stat(key),
    delete: (key) => inner.delete(key),
    list: (prefix) => inner.list(prefix),
  };
  return { storage, reads };
}

async function getAll(storage: StorageAdapter, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of await storage.get(key)) parts.push(Buffer.from(part as Uint8Array));
  return Buffer.concat(parts);
}

async function rewrite(storage: StorageAdapter, key: string, change: (bytes: Buffer) => Buffer) {
  await storage.put(key, Readable.from([change(await getAll(storage, key))]));
}

interface TwoServers {
  dir: string;
  /** The storage under the repository, not counted: for damage done by the tests. */
  storage: StorageAdapter;
  reads: Read[];
  repo: Repository;
  alpha: Snapshot;
  beta: Snapshot;
  alphaIndex: string;
  betaIndex: string;
  /** Each snapshot's data pack (its files' chunks) and tree pack (its tree's chunks). */
  alphaPack: string;
  alphaTreePack: string;
  betaPack: string;
  betaTreePack: string;
  /** The first chunk of the content alpha holds as `shared.bin` and `dup/shared-again.bin`, beta as `copy/shared.bin`. */
  sharedChunk: { id: Uint8Array; hex: string; pack: string; offset: number; length: number };
}

/**
 * Two snapshots of two servers, two packs each: alpha's data pack holds the shared content and alpha's
 * own files, beta's holds beta's own file (the shared content is deduplicated into alpha's pack); each
 * tree is in a tree pack of its own.
 */
async function twoServers(makeStorage: StorageFactory, password?: string): Promise<TwoServers> {
  const dir = await tempDir("strongbox-check-");
  const storage = makeStorage(dir);
  const { storage: counted, reads } = counting(storage);
  const repo = await initRepository({ storage: counted, ...(password ? { password, kdf: KDF } : {}) });
  const shared = randomBytes(40 * KiB);

  const a = join(dir, "a");
  await mkdir(join(a, "dup"), { recursive: true });
  await writeFile(join(a, "shared.bin"), shared);
  await writeFile(join(a, "dup", "shared-again.bin"), shared);
  await writeFile(join(a, "a-only.bin"), randomBytes(20 * KiB));
  await writeFile(join(a, "notes.txt"), "some notes\n".repeat(100));
  const alpha = await backup(repo, { source: a, server: "alpha" });
  const [alphaIndex] = await listIndexObjects(repo);

  const b = join(dir, "b");
  await mkdir(join(b, "copy"), { recursive: true });
  await writeFile(join(b, "copy", "shared.bin"), shared);
  await writeFile(join(b, "b-only.bin"), randomBytes(30 * KiB));
  const beta = await backup(repo, { source: b, server: "beta" });
  const betaIndex = (await listIndexObjects(repo)).find((id) => id !== alphaIndex)!;

  const { index } = await loadIndex(repo);
  let sharedId: Uint8Array | undefined;
  for await (const entry of readTree(repo, index, alpha)) {
    if (entry.path === "shared.bin") sharedId = entry.chunks.slice(0, 32);
  }
  const location = index.get(sharedId!)!;
  const packOf = async (snapshot: Snapshot, path: string) => {
    for await (const entry of readTree(repo, index, snapshot))
      if (entry.path === path) return index.get(entry.chunks.subarray(0, 32))!.pack;
    throw new Error(`no ${path}`);
  };
  const alphaPack = await packOf(alpha, "a-only.bin");
  const betaPack = await packOf(beta, "b-only.bin");
  const alphaTreePack = index.get(Buffer.from(alpha.tree[0]!, "hex"))!.pack;
  const betaTreePack = index.get(Buffer.from(beta.tree[0]!, "hex"))!.pack;
  expect(location.pack).toBe(alphaPack);
  expect(new Set([alphaPack, betaPack, alphaTreePack, betaTreePack]).size).toBe(4);
  reads.length = 0;
  return {
    dir,
    storage,
    reads,
    repo,
    alpha,
    beta,
    alphaIndex: alphaIndex!,
    betaIndex,
    alphaPack,
    alphaTreePack,
    betaPack,
    betaTreePack,
    sharedChunk: { id: sharedId!, hex: Buffer.from(sharedId!).toString("hex"), ...location },
  };
}

/** A restore of a damaged snapshot fails, and the target keeps exactly what it held. */
async function expectRestoreRefused(repo: Repository, id: string, dir: string): Promise<void> {
  const target = join(dir, `target-${id}`);
  await mkdir(target);
  await writeFile(join(target, "keep.txt"), "old");
  const error = await restoreSnapshot(repo, id, target, { mode: "truncate" }).catch((e: unknown) => e);
  expect(isStrongboxError(error, "INVALID_INPUT") || isStrongboxError(error, "NOT_FOUND")).toBe(true);
  expect(await readdir(target)).toEqual(["keep.txt"]);
  expect(await readFile(join(target, "keep.txt"), "utf8")).toBe("old");
}

const kinds = (report: CheckReport) => report.problems.map((problem) => problem.kind);
const byId = (report: CheckReport) =>
  new Map(report.damagedSnapshots.map((snapshot) => [snapshot.id, snapshot]));

describe.each(STORAGES)("check on %s", (_, makeStorage) => {
  test.each([
    ["without a password", undefined],
    ["with a password", "pw"],
  ])("a healthy repository checks ok, reading every pack once, %s", async (_, password) => {
    const repo = await twoServers(makeStorage, password);
    const progress: { packs: number; packsTotal: number }[] = [];
    const report = await checkRepository(repo.repo, {
      readData: "all",
      onProgress: (p) => progress.push(p),
    });
    expect(report).toEqual({
      ok: true,
      problems: [],
      damagedSnapshots: [],
      unindexedPacks: [],
      packs: 4,
      snapshots: 2,
      chunks: (await loadIndex(repo.repo)).index.size,
      packsRead: 4,
    });
    expect(progress).toEqual([0, 1, 2, 3, 4].map((packs) => ({ packs, packsTotal: 4 })));
    // One whole get per pack, and the packs' data read once (the trees again, by range, to walk them).
    const whole = repo.reads.filter((read) => read.key.startsWith("data/") && !read.ranged);
    expect(whole.map((read) => read.key).sort()).toEqual(
      [repo.alphaPack, repo.alphaTreePack, repo.betaPack, repo.betaTreePack]
        .map((pack) => packKey("", pack))
        .sort(),
    );
    for (const read of whole) expect(read.bytes).toBe((await repo.storage.stat(read.key))!.size);
  });

  test.each([
    ["without a password", undefined],
    ["with a password", "pw"],
  ])(
    "a flipped byte in a pack: the data check names the chunk, the snapshots and the files, %s",
    async (_, password) => {
      const repo = await twoServers(makeStorage, password);
      const { sharedChunk } = repo;
      await rewrite(repo.storage, packKey("", sharedChunk.pack), (bytes) => {
        const at = sharedChunk.offset + Math.floor(sharedChunk.length / 2);
        bytes[at] = bytes[at]! ^ 0x01;
        return bytes;
      });

      // Structure only: no pack is read whole; of the packs, only the two trees' chunks are read.
      const { index } = await loadIndex(repo.repo);
      const treeBytes = [repo.alpha, repo.beta]
        .flatMap((snapshot) => snapshot.tree)
        .reduce((sum, hex) => sum + index.get(Buffer.from(hex, "hex"))!.length, 0);
      repo.reads.length = 0;
      const structure = await checkRepository(repo.repo);
      expect(structure).toMatchObject({ ok: true, packsRead: 0, packs: 4, snapshots: 2 });
      const packReads = repo.reads.filter((read) => read.key.startsWith("data/"));
      expect(packReads.every((read) => read.ranged)).toBe(true);
      expect(packReads.reduce((sum, read) => sum + read.bytes, 0)).toBe(treeBytes);

      const report = await checkRepository(repo.repo, { readData: "all" });
      expect(report.ok).toBe(false);
      expect(report.packsRead).toBe(4);
      expect(report.problems).toEqual([
        {
          kind: "damaged-chunk",
          object: sharedChunk.hex,
          message: expect.stringContaining(`Chunk ${sharedChunk.hex} in pack ${sharedChunk.pack} is damaged`),
        },
      ]);
      expect(byId(report)).toEqual(
        new Map([
          [
            repo.alpha.id,
            {
              id: repo.alpha.id,
              server: "alpha",
              time: repo.alpha.time,
              files: ["dup/shared-again.bin", "shared.bin"],
            },
          ],
          [
            repo.beta.id,
            { id: repo.beta.id, server: "beta", time: repo.beta.time, files: ["copy/shared.bin"] },
          ],
        ]),
      );
      expect(report.unindexedPacks).toEqual([]);

      await expectRestoreRefused(repo.repo, repo.beta.id, repo.dir);
    },
  );

  test("a deleted data pack: missing-pack, and every snapshot and file that used it named", async () => {
    const repo = await twoServers(makeStorage, "pw");
    await repo.storage.delete(packKey("", repo.alphaPack));

    const report = await checkRepository(repo.repo);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { kind: "missing-pack", object: repo.alphaPack, message: expect.stringContaining(repo.alphaIndex) },
    ]);
    // Alpha lost every file (all in the pack), beta the file it shares with alpha.
    expect(byId(report)).toEqual(
      new Map([
        [
          repo.alpha.id,
          {
            id: repo.alpha.id,
            server: "alpha",
            time: repo.alpha.time,
            files: ["a-only.bin", "dup/shared-again.bin", "notes.txt", "shared.bin"],
          },
        ],
        [
          repo.beta.id,
          { id: repo.beta.id, server: "beta", time: repo.beta.time, files: ["copy/shared.bin"] },
        ],
      ]),
    );
    expect(report).toMatchObject({ packs: 3, snapshots: 2, unindexedPacks: [] });
    // Reading data finds nothing more, and reads only the packs that are there.
    const data = await checkRepository(repo.repo, { readData: "all" });
    expect(data).toMatchObject({ problems: report.problems, damagedSnapshots: report.damagedSnapshots });
    expect(data.packsRead).toBe(3);

    await expectRestoreRefused(repo.repo, repo.beta.id, repo.dir);
    await expectRestoreRefused(repo.repo, repo.alpha.id, repo.dir);
  });

  test("a deleted tree pack: the whole snapshot is named; the other restores", async () => {
    const repo = await twoServers(makeStorage, "pw");
    await repo.storage.delete(packKey("", repo.alphaTreePack));

    const report = await checkRepository(repo.repo, { readData: "all" });
    expect(report.problems).toEqual([
      { kind: "missing-pack", object: repo.alphaTreePack, message: expect.stringContaining(repo.alphaIndex) },
    ]);
    expect(report.damagedSnapshots).toEqual([
      { id: repo.alpha.id, server: "alpha", time: repo.alpha.time, files: [""] },
    ]);
    expect(report).toMatchObject({ ok: false, packs: 3, packsRead: 3 });

    await expectRestoreRefused(repo.repo, repo.alpha.id, repo.dir);
    const target = join(repo.dir, "beta-restored");
    await restoreSnapshot(repo.repo, repo.beta.id, target);
    expect((await readdir(target)).sort()).toEqual(["b-only.bin", "copy"]);
  });

  test.each([
    ["without a password", undefined],
    ["with a password", "pw"],
  ])("a truncated index object is damaged-index, named; the check goes on, %s", async (_, password) => {
    const repo = await twoServers(makeStorage, password);
    await rewrite(repo.storage, `index/${repo.betaIndex}`, (bytes) => bytes.subarray(0, bytes.length >> 1));

    const report = await checkRepository(repo.repo, { readData: "all" });
    expect(report.ok).toBe(false);
    expect(kinds(report)).toEqual(["damaged-index", "unindexed-chunk"]);
    expect(report.problems[0]).toMatchObject({
      object: repo.betaIndex,
      message: expect.stringContaining(`Index object ${repo.betaIndex} cannot be read`),
    });
    // Beta's tree was indexed only there: beta cannot be read at all; alpha is whole.
    expect(report.problems[1]!.object).toBe(repo.beta.tree[0]);
    expect(report.damagedSnapshots).toEqual([
      { id: repo.beta.id, server: "beta", time: repo.beta.time, files: [""] },
    ]);
    // Beta's packs are on storage, and no readable index lists them.
    expect(report.unindexedPacks).toEqual([repo.betaPack, repo.betaTreePack].sort());
    expect(report).toMatchObject({ packs: 4, snapshots: 2, packsRead: 2 });

    await expectRestoreRefused(repo.repo, repo.beta.id, repo.dir);
  });

  test("a pack no index lists (an interrupted backup) checks ok and is listed as unindexed", async () => {
    const repo = await twoServers(makeStorage);
    const writer = createPackWriter(repo.repo);
    const bytes = randomBytes(8 * KiB);
    await writer.add([{ id: Buffer.from(repo.repo.chunkId(bytes), "hex"), bytes }]);
    const pack = (await writer.flush())[0]![1].pack;

    const report = await checkRepository(repo.repo, { readData: "all" });
    expect(report).toMatchObject({
      ok: true,
      problems: [],
      damagedSnapshots: [],
      unindexedPacks: [pack],
      packs: 5,
      packsRead: 4,
    });
  });

  test("a deleted snapshot object leaves data no snapshot uses: the check passes", async () => {
    const repo = await twoServers(makeStorage, "pw");
    await deleteSnapshotObject(repo.repo, repo.alpha.id);
    const report = await checkRepository(repo.repo, { readData: "all" });
    expect(report).toMatchObject({
      ok: true,
      problems: [],
      damagedSnapshots: [],
      unindexedPacks: [],
      packs: 4,
      snapshots: 1,
      packsRead: 4,
    });
  });

  test("a sampled check reads the share of the packs asked for, each whole, once", async () => {
    const dir = await tempDir("strongbox-check-");
    const { storage, reads } = counting(makeStorage(dir));
    const repo = await initRepository({ storage });
    for (let n = 0; n < 4; n++) {
      const source = join(dir, `source-${n}`);
      await mkdir(source);
      await writeFile(join(source, "data.bin"), randomBytes(20 * KiB));
      await backup(repo, { source, server: `server-${n}` });
    }
    // Eight packs: each backup's data pack and tree pack.
    for (const [readData, packsRead] of [
      [0.5, 4],
      [0.1, 1],
      [1, 8],
    ] as const) {
      reads.length = 0;
      const report = await checkRepository(repo, { readData });
      expect(report).toMatchObject({ ok: true, packs: 8, snapshots: 4, packsRead });
      const whole = reads.filter((read) => read.key.startsWith("data/") && !read.ranged);
      expect(new Set(whole.map((read) => read.key)).size).toBe(packsRead);
      expect(whole).toHaveLength(packsRead);
      for (const read of whole) expect(read.bytes).toBe((await storage.stat(read.key))!.size);
    }
  });
});

describe("check", () => {
  test("refuses a readData that is not none, all or a fraction in (0, 1]", async () => {
    const repo = await initRepository({ storage: createMemoryStorage() });
    for (const readData of [0, -0.5, 1.5, Number.NaN, "some"]) {
      await expect(checkRepository(repo, { readData: readData as number })).rejects.toMatchObject({
        code: "INVALID_INPUT",
      });
    }
  });

  test("an empty repository checks ok", async () => {
    const repo = await initRepository({ storage: createMemoryStorage() });
    expect(await checkRepository(repo, { readData: "all" })).toEqual({
      ok: true,
      problems: [],
      damagedSnapshots: [],
      unindexedPacks: [],
      packs: 0,
      snapshots: 0,
      chunks: 0,
      packsRead: 0,
    });
  });

  test("an index placing a chunk past its pack's end is damaged-pack; the snapshot using it is named", async () => {
    const dir = await tempDir("strongbox-check-");
    const source = join(dir, "source");
    await mkdir(source);
    await writeFile(join(source, "one.bin"), randomBytes(10 * KiB));
    const storage = createMemoryStorage();
    const repo = await initRepository({ storage });
    const snapshot = await backup(repo, { source, server: "s1" });
    for await (const { key } of storage.list("data/"))
      await rewrite(storage, key, (bytes) => bytes.subarray(0, 40));
    const report = await checkRepository(repo, { readData: "all" });
    // Both packs (the file's, the tree's), each for its chunk past the end and for its header.
    expect(kinds(report)).toEqual(["damaged-pack", "damaged-pack", "damaged-pack", "damaged-pack"]);
    expect(report.damagedSnapshots).toEqual([
      { id: snapshot.id, server: "s1", time: snapshot.time, files: [""] },
    ]);
  });

  test("a pack whose header disagrees with the index is index-mismatch", async () => {
    const storage = createMemoryStorage();
    const repo = await initRepository({ storage });
    const writer = createPackWriter(repo);
    const chunks = [randomBytes(4 * KiB), randomBytes(4 * KiB)];
    await writer.add(chunks.map((bytes) => ({ id: Buffer.from(repo.chunkId(bytes), "hex"), bytes })));
    const entries = await writer.flush();
    // The index says the second chunk is where the first is (and the first is not indexed).
    const [first, second] = entries;
    await writeIndexObject(repo, [[second![0], first![1]]]);
    const report = await checkRepository(repo, { readData: "all" });
    expect(kinds(report)).toEqual(["damaged-chunk", "index-mismatch"]);
    expect(report.problems[1]).toMatchObject({ object: first![1].pack });
  });
});
