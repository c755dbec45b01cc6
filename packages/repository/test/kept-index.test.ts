import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StorageAdapter } from "@strongbox/core";
import { describe, expect, test } from "vitest";
import { useTestStorages } from "../../core/test/fixtures/test-storages.js";
import { snapshotTree } from "../../core/test/helpers/extract-tree.js";
import { useTempDirs } from "../../core/test/helpers/tree.js";
import {
  backup,
  type ChunkIndex,
  forgetSnapshots,
  initRepository,
  loadIndex,
  openRepository,
  prune,
  restoreSnapshot,
} from "../src/index.js";

const tempDir = useTempDirs();
const STORAGES = useTestStorages("repo-kept-index", ["memory", "local", "s3"]);
const KiB = 1024;

/**
 * `storage` counting the index objects read, and failing every index object write while `failIndexWrites`
 * is set (a backup then fails after uploading its packs, before indexing them).
 */
function watched(storage: StorageAdapter) {
  const state = { indexReads: 0, failIndexWrites: false };
  const proxy = new Proxy(storage, {
    get(target, name) {
      const method = Reflect.get(target, name);
      if (name === "get") {
        return (key: string, ...rest: unknown[]) => {
          if (key.startsWith("index/")) state.indexReads++;
          return method.call(target, key, ...rest);
        };
      }
      if (name === "put") {
        return (key: string, ...rest: unknown[]) => {
          if (key.startsWith("index/") && state.failIndexWrites) {
            return Promise.reject(new Error("index writes fail in this test"));
          }
          return method.call(target, key, ...rest);
        };
      }
      return typeof method === "function" ? method.bind(target) : method;
    },
  });
  return { storage: proxy as StorageAdapter, state };
}

/** Every chunk of an index with its location, sorted by id: two indexes that hold the same compare equal. */
function contents(index: ChunkIndex): string[] {
  return [...index.entries()]
    .map(([id, { pack, offset, length, rawLength }]) => {
      return `${Buffer.from(id).toString("hex")} ${pack} ${offset} ${length} ${rawLength}`;
    })
    .sort();
}

/** What a handle that keeps no index loads from the same storage: the reference. */
async function freshIndex(storage: StorageAdapter): Promise<ChunkIndex> {
  return (await loadIndex(await openRepository({ storage }))).index;
}

async function sourceTree(dir: string): Promise<string> {
  const root = join(dir, "source");
  await mkdir(join(root, "world"), { recursive: true });
  await writeFile(join(root, "server.jar"), randomBytes(200 * KiB));
  await writeFile(join(root, "world", "level.dat"), randomBytes(3 * KiB));
  return root;
}

describe.each(STORAGES)("a kept index on %s", (_, makeStorage) => {
  const setUp = async () => {
    const dir = await tempDir("strongbox-kept-");
    const { storage, state } = watched(makeStorage(dir));
    await initRepository({ storage });
    const repo = await openRepository({ storage, keepIndex: true });
    return { dir, storage, state, repo, source: await sourceTree(dir) };
  };

  test("reads only the index objects written since its last load, and holds what a fresh load holds", async () => {
    const { storage, state, repo, source } = await setUp();
    expect(repo.keepsIndex).toBe(true);
    for (let day = 0; day < 3; day++) {
      await writeFile(join(source, `log-${day}.txt`), randomBytes(20 * KiB));
      await backup(repo, { source, server: "s1" });
    }
    // Each backup wrote one index object; the backups' own loads read them as they came.
    state.indexReads = 0;
    const { index, objects } = await loadIndex(repo);
    expect(state.indexReads).toBe(1);
    expect(objects).toHaveLength(3);
    expect(contents(index)).toEqual(contents(await freshIndex(storage)));
    state.indexReads = 0;
    await loadIndex(repo);
    expect(state.indexReads).toBe(0);
  });

  test("hands out copies: what a caller adds never reaches the kept index", async () => {
    const { repo, source } = await setUp();
    await backup(repo, { source, server: "s1" });
    const first = await loadIndex(repo);
    const id = createHash("sha256").update("a chunk nobody stored").digest();
    first.index.add(id, { pack: "0".repeat(64), offset: 0, length: 1, rawLength: 1 });
    expect((await loadIndex(repo)).index.has(id)).toBe(false);
  });

  test("a failed backup's chunks stay out of it; prune removes their pack and a later backup stores them again", async () => {
    const { dir, storage, state, repo, source } = await setUp();
    const first = await backup(repo, { source, server: "s1" });
    const added = randomBytes(2 * KiB);
    await writeFile(join(source, "new.txt"), added);
    // A chunk of a file under the minimum chunk size is the whole file: its id is the file's sha256.
    const addedId = createHash("sha256").update(added).digest();
    state.failIndexWrites = true;
    await expect(backup(repo, { source, server: "s1" })).rejects.toThrow(/index writes fail/);
    state.failIndexWrites = false;
    expect((await loadIndex(repo)).index.has(addedId)).toBe(false);

    // Another process's prune deletes the packs the failed backup uploaded and never indexed: its data pack
    // and its tree's.
    expect((await prune(await openRepository({ storage }))).unindexedPacksDeleted).toBe(2);
    // Had the kept index held the failed backup's chunk, this backup would name it without storing it.
    const second = await backup(repo, { source, server: "s1" });
    for (const [snapshot, leftOut] of [
      [first, (path: string) => path === "new.txt"],
      [second, () => false],
    ] as const) {
      const target = join(dir, `restored-${snapshot.id}`);
      await restoreSnapshot(repo, snapshot.id, target, { mode: "truncate" });
      expect(snapshotTree(target)).toEqual(snapshotTree(source, leftOut));
    }
  });

  test("is built again once a prune elsewhere removed an index object it holds", async () => {
    const { dir, storage, state, repo, source } = await setUp();
    const old = await backup(repo, { source, server: "s1" });
    await writeFile(join(source, "server.jar"), randomBytes(200 * KiB));
    const current = await backup(repo, { source, server: "s1" });
    await loadIndex(repo);

    // Another handle (another process) forgets the old snapshot and prunes: its chunks and packs go.
    const other = await openRepository({ storage });
    await forgetSnapshots(other, [old.id]);
    await prune(other, { repackThreshold: 0 });

    state.indexReads = 0;
    const { index, objects } = await loadIndex(repo);
    expect(state.indexReads).toBe(objects.length);
    expect(contents(index)).toEqual(contents(await freshIndex(storage)));
    // A backup through the kept handle still finds every chunk it reuses.
    const next = await backup(repo, { source, server: "s1" });
    expect(next.counts.unchangedFiles).toBe(next.counts.files);
    const target = join(dir, "restored");
    await restoreSnapshot(repo, current.id, target, { mode: "truncate" });
    expect(snapshotTree(target)).toEqual(snapshotTree(source));
  });

  test("loads at once through one handle take turns: the first reads what is new, each gives the whole index", async () => {
    const { storage, state, repo, source } = await setUp();
    await backup(repo, { source, server: "s1" });
    await writeFile(join(source, "only-in-s2.txt"), randomBytes(KiB));
    await backup(await openRepository({ storage }), { source, server: "s2" });
    const expected = contents(await freshIndex(storage));
    state.indexReads = 0;
    const loads = await Promise.all([loadIndex(repo), loadIndex(repo), loadIndex(repo)]);
    // The two backups' index objects, read once: the kept index held neither (it was loaded before both).
    expect(state.indexReads).toBe(2);
    for (const { index } of loads) expect(contents(index)).toEqual(expected);
  });
});
