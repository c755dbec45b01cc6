import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, readFile, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { type GetOptions, isStrongboxError, type StorageAdapter } from "@strongbox/core";
import { describe, expect, test } from "vitest";
import { useTestStorages } from "../../core/test/fixtures/test-storages.js";
import { snapshotTree } from "../../core/test/helpers/extract-tree.js";
import { run, useTempDirs } from "../../core/test/helpers/tree.js";
import {
  backup,
  initRepository,
  latestSnapshot,
  listSnapshots,
  loadIndex,
  openRepository,
  type Repository,
  readTree,
  restoreSnapshot,
  snapshotTar,
} from "../src/index.js";

const KDF = { N: 2 ** 10, r: 8, p: 1 };
const KiB = 1024;
const tempDir = useTempDirs();
const STORAGES = useTestStorages("repo-backup", ["memory", "local", "s3"]);

const notLogs = (path: string) => path === "logs.log";

/** `size` bytes that look random and are the same for the same seed (AES-256-CTR of zeros). */
function keystream(seed: string, size: number): Buffer {
  const key = createHash("sha256").update(seed).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** A small game-server tree: a jar of random bytes, a world region, configs, an empty file, links. */
async function serverTree(dir: string): Promise<string> {
  const root = join(dir, "server");
  await mkdir(join(root, "world", "region"), { recursive: true });
  await mkdir(join(root, "plugins", "empty-folder"), { recursive: true });
  await writeFile(join(root, "server.jar"), randomBytes(300 * KiB));
  // Region files hold compressed chunks: bytes that look random.
  await writeFile(join(root, "world", "region", "r.0.0.mca"), randomBytes(1024 * KiB));
  await writeFile(join(root, "server.properties"), "motd=A Minecraft Server\nmax-players=20\n".repeat(40));
  await writeFile(join(root, "empty.txt"), "");
  await writeFile(join(root, "logs.log"), "ignored by the ignore file\n");
  await writeFile(join(root, ".pteroignore"), "*.log\n");
  await writeFile(Buffer.from(join(root, "caf\xe9-latin1.txt"), "latin1"), "a name that is not UTF-8");
  await symlink("server.properties", join(root, "link-to-properties"));
  await symlink("/etc/passwd", join(root, "link-outside"));
  await chmod(join(root, "server.jar"), 0o750);
  return root;
}

/** `storage`, and the keys under `prefix` it was asked to `get`, as asked. */
function countingGets(storage: StorageAdapter, prefix: string): { storage: StorageAdapter; gets: string[] } {
  const gets: string[] = [];
  const counted = new Proxy(storage, {
    get(target, name) {
      if (name !== "get") return Reflect.get(target, name);
      return (key: string, options?: GetOptions) => {
        if (key.startsWith(prefix)) gets.push(key);
        return target.get(key, options);
      };
    },
  });
  return { storage: counted, gets };
}

describe.each(STORAGES)("backup and restore on %s", (_, makeStorage) => {
  test.each([
    ["without a password", undefined],
    ["with a password", "pw"],
  ])("a snapshot restores byte-identical, %s", async (_, password) => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    const repo = await initRepository({ storage: makeStorage(dir), password, kdf: KDF });
    const snapshot = await backup(repo, { source, server: "s1" });
    expect(snapshot.counts).toMatchObject({
      files: 6,
      directories: 4,
      symlinks: 2,
      skipped: 0,
      unchangedFiles: 0,
    });

    const target = join(dir, "target");
    const restored = await restoreSnapshot(repo, snapshot.id, target, { mode: "truncate" });
    expect(snapshotTree(target)).toEqual(snapshotTree(source, notLogs));
    // Written as counted, and the tar stream not hashed (its chunks were each checked against their ids).
    const { files, directories, symlinks, bytes } = snapshot.counts;
    expect(restored).toEqual({ files, directories, symlinks, bytes });
  });

  test("an unchanged tree backs up again without reading a file or storing a chunk", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    const repo = await initRepository({ storage: makeStorage(dir) });
    const first = await backup(repo, { source, server: "s1" });
    const second = await backup(repo, { source, server: "s1" });
    expect(second.parent).toBe(first.id);
    expect(second.counts).toMatchObject({ files: 6, unchangedFiles: 6, newChunks: 0 });
    expect(second.tree).toEqual(first.tree);

    // Another server's first backup of the same files reads them all but stores nothing new but its tree.
    const other = await backup(repo, { source, server: "s2" });
    expect(other.counts).toMatchObject({ unchangedFiles: 0, newChunks: 0 });
    expect(other.parent).toBeUndefined();

    // rereadAll reads every file and still stores nothing.
    const reread = await backup(repo, { source, server: "s1", rereadAll: true });
    expect(reread.counts).toMatchObject({ unchangedFiles: 0, newChunks: 0 });
    expect((await listSnapshots(repo, { server: "s1" })).map((s) => s.id)).toEqual([
      first.id,
      second.id,
      reread.id,
    ]);
  });

  test("a changed file is read again, the others are not; every snapshot restores as it was", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    // No password: the chunker's default gear table, and fixed bytes, so the cuts are the same every run.
    const repo = await initRepository({ storage: makeStorage(dir) });
    const region = join(source, "world", "region", "r.0.0.mca");
    await writeFile(region, keystream("region", 1024 * KiB));
    const first = await backup(repo, { source, server: "s1" });
    const firstTree = snapshotTree(source, notLogs);

    const bytes = await readFile(region);
    keystream("sector", 4 * KiB).copy(bytes, 100 * KiB); // one sector rewritten in place
    await writeFile(region, bytes);
    // Only its times change: it is read again (its ctime moved) and stores nothing new.
    await utimes(join(source, "server.properties"), 1_000_000, 1_000_000);
    const second = await backup(repo, { source, server: "s1" });
    expect(second.counts.unchangedFiles).toBe(4);
    // The rewritten sector costs the one chunk around it (these bytes cut there the same every run) and
    // the tree's one chunk: not the 1 MiB file. (With random bytes, a moved cut may take a few chunks to
    // fall back in step: the chunk-size benchmark measures that on a churning tree.)
    expect(second.counts.newChunks).toBe(2);
    expect(second.counts.newBytes).toBeLessThanOrEqual(64 * KiB + 4 * KiB);

    for (const [snapshot, tree] of [
      [first, firstTree],
      [second, snapshotTree(source, notLogs)],
    ] as const) {
      const target = join(dir, `restore-${snapshot.id}`);
      await restoreSnapshot(repo, snapshot.id, target, { mode: "truncate" });
      expect(snapshotTree(target)).toEqual(tree);
    }
  });

  test("a snapshot's tree is stored in packs of its own: reading it takes one ranged read", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = join(dir, "server");
    // Ten folders of 300 small files and a 512 KiB one: in packs shared with the files, the tree's chunks
    // would lie far apart (each ranged read on its own).
    for (let folder = 0; folder < 10; folder++) {
      await mkdir(join(source, `d${folder}`), { recursive: true });
      for (let file = 0; file < 300; file++)
        await writeFile(join(source, `d${folder}`, `f${file}.txt`), keystream(`${folder}/${file}`, 200));
      await writeFile(join(source, `d${folder}`, "zz-big.bin"), keystream(`big ${folder}`, 512 * KiB));
    }
    const { storage, gets: dataReads } = countingGets(makeStorage(dir), "data/");
    const repo = await initRepository({ storage });
    const snapshot = await backup(repo, { source, server: "s1" });
    const { index } = await loadIndex(repo);
    const treeIds = new Set(snapshot.tree);
    expect(treeIds.size).toBeGreaterThan(5);
    const treePacks = new Set(snapshot.tree.map((id) => index.get(Buffer.from(id, "hex"))!.pack));
    expect(treePacks.size).toBe(1);
    // No file's chunk shares a pack with the tree.
    dataReads.length = 0;
    let files = 0;
    for await (const entry of readTree(repo, index, snapshot)) {
      for (let at = 0; at < entry.chunks.length; at += 32) {
        const location = index.get(entry.chunks.subarray(at, at + 32))!;
        expect(treePacks.has(location.pack)).toBe(false);
      }
      if (entry.type === "file") files++;
    }
    expect(files).toBe(3010);
    expect(dataReads).toHaveLength(1);
  });

  test("a backup reads only its server's latest snapshot to find its parent, even when tags collide", async () => {
    // Two names whose tags (8 hex digits of sha256 in a repository without a password) are the same.
    const tag = (name: string) =>
      createHash("sha256").update("strongbox server\0").update(name).digest("hex").slice(0, 8);
    const seen = new Map<string, string>();
    let twins: [string, string] | undefined;
    for (let n = 0; !twins; n++) {
      const name = `server-${n}`;
      const other = seen.get(tag(name));
      if (other) twins = [other, name];
      else seen.set(tag(name), name);
    }
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    const { storage, gets: snapshotReads } = countingGets(makeStorage(dir), "snapshots/");
    const repo = await initRepository({ storage });
    const [one, two] = twins;
    const servers = [one, two, "alpha", "beta", "gamma"];
    const made = new Map<string, string[]>(servers.map((server) => [server, []]));
    for (let round = 0; round < 2; round++) {
      for (const server of servers) made.get(server)!.push((await backup(repo, { source, server })).id);
    }
    for (const server of servers) {
      const ids = made.get(server)!;
      expect(ids.every((id) => id.startsWith(ids[0]!.slice(0, 8)))).toBe(true);
      expect((await listSnapshots(repo, { server })).map((s) => s.id)).toEqual(ids);
    }
    expect(made.get(one)![0]!.slice(0, 8)).toBe(made.get(two)![0]!.slice(0, 8));
    expect((await listSnapshots(repo)).length).toBe(10);

    const key = (id: string) => `snapshots/${id.slice(0, 8)}/${id}`;
    snapshotReads.length = 0;
    const third = await backup(repo, { source, server: "alpha" });
    expect(third.parent).toBe(made.get("alpha")![1]);
    expect(third.counts.unchangedFiles).toBe(third.counts.files);
    expect(snapshotReads).toEqual([key(made.get("alpha")![1]!)]);
    // The twins share a folder, read newest first: `two`'s latest is the newest there; `one`'s comes after
    // two of `two`'s.
    snapshotReads.length = 0;
    const twin = await backup(repo, { source, server: two });
    expect(twin.parent).toBe(made.get(two)![1]);
    expect(snapshotReads).toEqual([key(made.get(two)![1]!)]);
    snapshotReads.length = 0;
    const other = await backup(repo, { source, server: one });
    expect(other.parent).toBe(made.get(one)![1]);
    expect(snapshotReads).toEqual([key(twin.id), key(made.get(two)![1]!), key(made.get(one)![1]!)]);
  });

  test("snapshot ids sort by their backup's start time; the latest is the parent", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    const inner = makeStorage(dir);
    const repo = await initRepository({ storage: inner });
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const snapshot = await backup(repo, { source, server: "s1" });
      expect(Number.parseInt(snapshot.id.slice(8, 20), 16)).toBe(Date.parse(snapshot.time));
      ids.push(snapshot.id);
    }
    expect([...ids].sort()).toEqual(ids);
    expect((await latestSnapshot(repo, "s1"))?.id).toBe(ids[2]);
    expect(await latestSnapshot(repo, "s2")).toBeUndefined();
    // A snapshot listed but forgotten before it is read (the newest listed here) is passed over.
    const ghost = `${ids[2]!.slice(0, 8)}${"f".repeat(24)}`;
    const listed: StorageAdapter = {
      ...inner,
      async *list(prefix) {
        yield* inner.list(prefix);
        if (prefix.startsWith("snapshots/"))
          yield { key: `snapshots/${ghost.slice(0, 8)}/${ghost}`, size: 1, modifiedAt: new Date() };
      },
    };
    const { storage, gets } = countingGets(listed, "snapshots/");
    const withGhost = await openRepository({ storage });
    expect((await latestSnapshot(withGhost, "s1"))?.id).toBe(ids[2]);
    expect(gets.map((key) => key.split("/")[2])).toEqual([ghost, ids[2]]);
    const next = await backup(withGhost, { source, server: "s1" });
    expect(next.parent).toBe(ids[2]);
    expect(next.id > ids[2]!).toBe(true);
  });

  test("a backup lists the index and its server's snapshots at once, not one after the other", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    const inner = makeStorage(dir);
    const listing = new Set<string>();
    let together = 0;
    // Each listing takes a while, as an S3 request does: listed one after the other, they never overlap.
    const storage: StorageAdapter = {
      ...inner,
      async *list(prefix) {
        const folder = prefix.split("/")[0]!;
        listing.add(folder);
        if (listing.has("index") && listing.has("snapshots")) together++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        try {
          yield* inner.list(prefix);
        } finally {
          listing.delete(folder);
        }
      },
    };
    const repo = await initRepository({ storage });
    const first = await backup(repo, { source, server: "alpha" });
    together = 0;
    const second = await backup(repo, { source, server: "alpha" });
    expect(second.parent).toBe(first.id);
    expect(together).toBe(1);
  });

  test("restoring one file reads only its chunks", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    await writeFile(join(source, "big.bin"), randomBytes(2048 * KiB));
    const repo = await initRepository({ storage: makeStorage(dir) });
    const snapshot = await backup(repo, { source, server: "s1" });
    let read = 0;
    const target = join(dir, "target");
    await restoreSnapshot(repo, snapshot.id, target, {
      only: ["server.properties"],
      onRead: (n) => (read += n),
    });
    expect(await readFile(join(target, "server.properties"), "utf8")).toContain("max-players=20");
    // server.properties deflates to well under 1 KiB; the tree's chunks are not counted.
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(4 * KiB);
  });
});

describe("files read on several threads", () => {
  test("join the tree in walk order, and the threads change nothing that is stored", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = join(dir, "many");
    // 300 files in 10 folders, from empty to 2 MiB, so the threads finish in another order than the walk.
    for (let n = 0; n < 300; n++) {
      const folder = join(source, `folder-${n % 10}`);
      await mkdir(folder, { recursive: true });
      const size = n % 37 === 0 ? 2 * 1024 * KiB : (n * 7919) % (40 * KiB);
      await writeFile(
        join(folder, `file-${n}.bin`),
        n % 2 === 0 ? keystream(`f${n}`, size) : "x".repeat(size),
      );
    }
    const { createMemoryStorage } = await import("@strongbox/core");
    const trees: string[][] = [];
    for (const threads of [1, 3]) {
      const repo = await initRepository({ storage: createMemoryStorage() });
      const snapshot = await backup(repo, { source, server: "s1", threads, maxPackBytes: 512 * KiB });
      expect(snapshot.counts.files).toBe(300);
      trees.push(snapshot.tree);
      const target = join(dir, `restored-${threads}`);
      await restoreSnapshot(repo, snapshot.id, target);
      expect(snapshotTree(target)).toEqual(snapshotTree(source));
    }
    expect(trees[1]).toEqual(trees[0]);
  });
});

describe("a backup that fails", () => {
  test("aborted while a pack streams to local disk, it leaves no pack, no temporary file and no lock", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    await writeFile(join(source, "big.bin"), randomBytes(3 * 1024 * KiB));
    const { createLocalStorage } = await import("../../storage-local/src/index.js");
    const root = join(dir, "store");
    const inner = createLocalStorage({ root });
    const controller = new AbortController();
    const puts: Promise<unknown>[] = [];
    const storage: typeof inner = {
      ...inner,
      put(key, body, options) {
        const put = inner.put(key, body, options);
        puts.push(put.catch(() => undefined));
        if (key.startsWith("data/")) controller.abort();
        return put;
      },
    };
    const repo = await initRepository({ storage });
    const error = await backup(repo, { source, server: "s1", signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(isStrongboxError(error, "ABORTED")).toBe(true);
    await Promise.all(puts);
    const { readdir } = await import("node:fs/promises");
    const files = (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1));
    expect(files.filter((file) => !file.startsWith("keys/"))).toEqual(["config.json"]);
  });
});

describe("with a password", () => {
  test("no stored object, nor its key, holds a file's contents or any file name", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    const MARKER = "planted-marker-5c1e";
    await mkdir(join(source, "secret-folder-name"));
    await writeFile(join(source, "secret-folder-name", "secret-file-name.txt"), `${MARKER}\n`.repeat(5000));
    await writeFile(join(source, "small.txt"), MARKER);
    const { createMemoryStorage } = await import("@strongbox/core");
    const storage = createMemoryStorage();
    const repo = await initRepository({ storage, password: "pw", kdf: KDF });
    const snapshot = await backup(repo, { source, server: "server-name-9" });
    await backup(repo, { source, server: "server-name-9" });
    const names = [
      "secret-folder-name",
      "secret-file-name",
      "server.properties",
      "server-name-9",
      "r.0.0.mca",
      source,
    ];
    let objects = 0;
    for await (const info of storage.list("")) {
      const parts: Buffer[] = [];
      for await (const part of await storage.get(info.key)) parts.push(Buffer.from(part as Uint8Array));
      const bytes = Buffer.concat(parts);
      objects++;
      for (const secret of [MARKER, ...names]) {
        expect(bytes.includes(secret), `${info.key} holds "${secret}"`).toBe(false);
        expect(info.key.includes(secret)).toBe(false);
      }
    }
    expect(objects).toBeGreaterThanOrEqual(6);
    // The server's tag (its snapshots' folder) is keyed: not the plain repository's tag of the name, and
    // another repository's key gives another.
    const plainTag = createHash("sha256").update("strongbox server\0server-name-9").digest("hex").slice(0, 8);
    const other = await initRepository({ storage: createMemoryStorage(), password: "pw", kdf: KDF });
    const otherTag = (await backup(other, { source, server: "server-name-9" })).id.slice(0, 8);
    expect(new Set([snapshot.id.slice(0, 8), plainTag, otherTag]).size).toBe(3);
    // And it all comes back with the password.
    const target = join(dir, "target");
    await restoreSnapshot(repo, snapshot.id, target);
    expect(await readFile(join(target, "small.txt"), "utf8")).toBe(MARKER);
  });
});

describe("a snapshot's export", () => {
  test("is a tar stream GNU tar and bsdtar list and extract byte-identical", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    const { createMemoryStorage } = await import("@strongbox/core");
    const repo = await initRepository({ storage: createMemoryStorage() });
    const snapshot = await backup(repo, { source, server: "s1" });
    const archive = join(dir, "export.tar.gz");
    await pipeline(
      snapshotTar(repo, (await loadIndex(repo)).index, snapshot),
      createGzip(),
      createWriteStream(archive),
    );
    const expected = snapshotTree(source, notLogs);
    for (const tool of ["tar", "bsdtar"]) {
      const out = join(dir, `by-${tool}`);
      await mkdir(out);
      const { stderr } = await run(tool, ["-xzf", archive, "-C", out]);
      expect(stderr).toBe("");
      expect(snapshotTree(out)).toEqual(expected);
    }
  });
});

describe("damage", () => {
  test("a restore from a snapshot with a damaged chunk fails before touching the target", async () => {
    const dir = await tempDir("strongbox-repo-");
    const source = await serverTree(dir);
    const { createMemoryStorage } = await import("@strongbox/core");
    const storage = createMemoryStorage();
    const repo: Repository = await initRepository({ storage });
    const snapshot = await backup(repo, { source, server: "s1" });
    const target = join(dir, "target");
    await mkdir(target);
    await writeFile(join(target, "keep.txt"), "old");
    // Flip a byte in the middle of every pack.
    for await (const info of storage.list("data/")) {
      const parts: Buffer[] = [];
      for await (const part of await storage.get(info.key)) parts.push(Buffer.from(part as Uint8Array));
      const bytes = Buffer.concat(parts);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      const { Readable } = await import("node:stream");
      await storage.put(info.key, Readable.from([bytes]));
    }
    const error = await restoreSnapshot(repo, snapshot.id, target, { mode: "truncate" }).catch(
      (e: unknown) => e,
    );
    expect(isStrongboxError(error, "INVALID_INPUT")).toBe(true);
    expect(String((error as Error).message)).toMatch(/damaged/);
    expect(Object.keys(snapshotTree(target))).toEqual(["keep.txt"]);
    expect(await readFile(join(target, "keep.txt"), "utf8")).toBe("old");
  });
});
