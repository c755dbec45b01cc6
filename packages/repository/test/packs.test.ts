import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { createMemoryStorage, type StorageAdapter, storesOnThisMachine } from "@strongbox/core";
import { describe, expect, test } from "vitest";
import {
  ChunkIndex,
  createPackWriter,
  decodePackHeader,
  initRepository,
  packKey,
  type Repository,
  readChunk,
  readChunks,
  readPackHeader,
} from "../src/index.js";
import { useRepositoryStorages } from "./fixtures/storages.js";

const KiB = 1024;
const KDF = { N: 2 ** 10, r: 8, p: 1 };
const MARKER = "planted-marker-7f3a";

const STORAGES = useRepositoryStorages("packs");

/** A storage that counts the bytes its reads return. */
function counting(inner: StorageAdapter) {
  let read = 0;
  const storage: StorageAdapter = {
    ...inner,
    async get(key, options) {
      const stream = await inner.get(key, options);
      return Readable.from(
        (async function* () {
          for await (const chunk of stream) {
            read += (chunk as Uint8Array).length;
            yield chunk;
          }
        })(),
      );
    },
  };
  return { storage, read: () => read };
}

/** 40 chunks of 12 KiB: text that deflates, random bytes that do not, and the marker in every one. */
function chunks(): Buffer[] {
  return Array.from({ length: 40 }, (_, n) =>
    Buffer.concat([
      Buffer.from(`${MARKER} chunk ${n} `),
      n % 2 ? randomBytes(12 * KiB) : Buffer.from("the same words again ".repeat(600)),
    ]),
  );
}

async function writeAll(repo: Repository, data: Buffer[], maxPackBytes: number) {
  const writer = createPackWriter(repo, { maxPackBytes });
  for (const chunk of data) await writer.add([{ id: Buffer.from(repo.chunkId(chunk), "hex"), bytes: chunk }]);
  const index = new ChunkIndex();
  for (const [id, location] of await writer.flush()) index.add(id, location);
  return index;
}

async function objects(storage: StorageAdapter): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for await (const info of storage.list("")) {
    const parts: Buffer[] = [];
    for await (const part of await storage.get(info.key)) parts.push(Buffer.from(part as Uint8Array));
    found.set(info.key, Buffer.concat(parts));
  }
  return found;
}

describe.each(STORAGES)("packs on %s", (_, makeStorage) => {
  test.each([
    ["without a password", undefined],
    ["with a password", "pw"],
  ])(
    "chunks come back byte-exact %s, in packs of bounded size, one ranged read each",
    async (_, password) => {
      const { storage, read } = counting(await makeStorage());
      const repo = await initRepository({
        storage,
        prefix: "repo",
        ...(password ? { password, kdf: KDF } : {}),
      });
      const data = chunks();
      const index = await writeAll(repo, data, 64 * KiB);

      expect(index.size).toBe(data.length);
      const packs = [...(await objects(storage)).entries()].filter(([key]) => key.startsWith("repo/data/"));
      expect(packs.length).toBeGreaterThan(3);
      for (const [, bytes] of packs) expect(bytes.length).toBeLessThan(64 * KiB + 4 * KiB);
      // Text chunks deflate: all packs together hold less than the chunks.
      const total = packs.reduce((sum, [, bytes]) => sum + bytes.length, 0);
      expect(total).toBeLessThan(data.reduce((sum, chunk) => sum + chunk.length, 0));
      const leaks = packs.filter(([, bytes]) => bytes.includes(MARKER)).length;
      expect(leaks).toBe(password ? 0 : packs.length);

      for (const chunk of data) {
        const id = Buffer.from(repo.chunkId(chunk), "hex");
        const location = index.get(id)!;
        const before = read();
        expect(await readChunk(repo, id, location)).toEqual(chunk);
        expect(read() - before).toBe(location.length);
      }
      for (const [key, bytes] of packs) {
        const header = await readPackHeader(repo, key.split("/").pop()!);
        for (const [id, location] of header.entries()) expect(index.get(id)).toEqual(location);
        // The same header from the bytes of the whole pack, read already.
        const before = read();
        expect([...decodePackHeader(repo, key.split("/").pop()!, bytes).entries()]).toEqual([
          ...header.entries(),
        ]);
        expect(read()).toBe(before);
      }
    },
  );

  test("tree chunks and data chunks never share a pack; each kind fills its own, and one flush sends both", async () => {
    const storage = await makeStorage();
    const repo = await initRepository({ storage, prefix: "repo" });
    const writer = createPackWriter(repo, { maxPackBytes: 64 * KiB });
    const kindOf = new Map<string, string>();
    // Alternating, as a backup adds a tree chunk between files' chunks.
    for (const [n, chunk] of chunks().entries()) {
      const kind = n % 3 === 0 ? "tree" : "data";
      const id = Buffer.from(repo.chunkId(chunk), "hex");
      kindOf.set(id.toString("hex"), kind);
      await writer.add([{ id, bytes: chunk }], kind);
    }
    const kindsOfPack = new Map<string, Set<string>>();
    for (const [id, location] of await writer.flush()) {
      const kinds = kindsOfPack.get(location.pack) ?? new Set();
      kinds.add(kindOf.get(Buffer.from(id).toString("hex"))!);
      kindsOfPack.set(location.pack, kinds);
    }
    expect([...kindsOfPack.values()].every((kinds) => kinds.size === 1)).toBe(true);
    const packsOf = (kind: string) => [...kindsOfPack.values()].filter((kinds) => kinds.has(kind)).length;
    expect(packsOf("tree")).toBeGreaterThan(1);
    expect(packsOf("data")).toBeGreaterThan(packsOf("tree"));
    // Every pack the writer reported is stored, and nothing else.
    const stored = [...(await objects(storage)).keys()].filter((key) => key.startsWith("repo/data/"));
    expect(stored.map((key) => key.split("/").pop()).sort()).toEqual([...kindsOfPack.keys()].sort());
  });

  test("a pack cut short is refused as damaged, whether its header is read or decoded", async () => {
    const storage = await makeStorage();
    const repo = await initRepository({ storage, prefix: "repo" });
    const index = await writeAll(repo, chunks().slice(0, 3), 1024 * KiB);
    const pack = [...index.entries()][0]![1].pack;
    const key = packKey("repo/", pack);
    const bytes = (await objects(storage)).get(key)!;
    for (const cut of [bytes.subarray(0, bytes.length - 10), bytes.subarray(0, 3)]) {
      await storage.put(key, Readable.from([Buffer.from(cut)]));
      await expect(readPackHeader(repo, pack)).rejects.toMatchObject({
        code: "INVALID_INPUT",
        message: expect.stringMatching(new RegExp(`${pack} is damaged`)),
      });
      expect(() => decodePackHeader(repo, pack, cut)).toThrow(new RegExp(`${pack} is damaged`));
    }
    await storage.delete(key);
    await expect(readPackHeader(repo, pack)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  test("a flipped byte in a pack is found when its chunk is read", async () => {
    const storage = await makeStorage();
    const repo = await initRepository({ storage, prefix: "repo", password: "pw", kdf: KDF });
    const data = chunks().slice(0, 4);
    const index = await writeAll(repo, data, 1024 * KiB);
    const id = Buffer.from(repo.chunkId(data[2]!), "hex");
    const location = index.get(id)!;
    const key = packKey("repo/", location.pack);
    const pack = (await objects(storage)).get(key)!;
    pack[location.offset + 40] = (pack[location.offset + 40] ?? 0) ^ 0xff;
    await storage.put(key, Readable.from([pack]));

    await expect(readChunk(repo, id, location)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringContaining(`in pack ${location.pack} is damaged`),
    });
    const other = Buffer.from(repo.chunkId(data[1]!), "hex");
    expect(await readChunk(repo, other, index.get(other)!)).toEqual(data[1]);
  });
});

test("a chunk read under another id is refused, even in a repository without a password", async () => {
  const repo = await initRepository({ storage: createMemoryStorage() });
  const data = chunks().slice(0, 2);
  const index = await writeAll(repo, data, 1024 * KiB);
  const [first, second] = data.map((chunk) => Buffer.from(repo.chunkId(chunk), "hex"));
  await expect(readChunk(repo, second!, index.get(first!)!)).rejects.toMatchObject({ code: "INVALID_INPUT" });
  expect(createHash("sha256").update(data[0]!).digest()).toEqual(first);
});

describe("readChunks", () => {
  /** Two packs of 20 chunks each (random, so stored as they are: 12 KiB and a few bytes apart). */
  async function twoPacks() {
    const inner = createMemoryStorage();
    let gets = 0;
    const storage: StorageAdapter = {
      ...inner,
      get(key, options) {
        gets++;
        return inner.get(key, options);
      },
    };
    const repo = await initRepository({ storage });
    const data = Array.from({ length: 40 }, () => randomBytes(12 * KiB));
    const index = await writeAll(repo, data, 20 * 12 * KiB + 100);
    const ids = data.map((chunk) => Buffer.from(repo.chunkId(chunk), "hex"));
    expect(new Set(ids.map((id) => index.get(id)!.pack)).size).toBe(2);
    return { repo, index, data, ids, gets: () => gets };
  }

  async function collect(iterable: AsyncIterable<Buffer>): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for await (const chunk of iterable) out.push(chunk);
    return out;
  }

  test("chunks of two packs asked for alternately come in one read per pack, in the order asked", async () => {
    const { repo, index, data, ids, gets } = await twoPacks();
    const order = Array.from({ length: 20 }, (_, n) => [n, n + 20]).flat();
    const chunks = await collect(
      readChunks(
        repo,
        index,
        order.map((n) => ids[n]!),
      ),
    );
    expect(chunks).toEqual(order.map((n) => data[n]));
    expect(gets()).toBe(2);
  });

  test.each(STORAGES)(
    "on %s storage, one read brings 1 MiB at most from a disk of this machine, 4 MiB from elsewhere",
    async (kind, makeStorage) => {
      const inner = await makeStorage();
      const reads: number[] = [];
      const storage: StorageAdapter = {
        ...inner,
        async get(key, options) {
          const range = options?.range;
          if (range?.end !== undefined) reads.push(range.end - (range.start ?? 0) + 1);
          return inner.get(key, options);
        },
      };
      const repo = await initRepository({ storage });
      // 6 MiB of random chunks side by side in one pack: only the read size splits them.
      const data = Array.from({ length: 96 }, () => randomBytes(64 * KiB));
      const index = await writeAll(repo, data, 16 * 1024 * KiB);
      const ids = data.map((chunk) => Buffer.from(repo.chunkId(chunk), "hex"));
      expect(new Set(ids.map((id) => index.get(id)!.pack)).size).toBe(1);
      const read = await collect(readChunks(repo, index, ids));
      expect(read.map((chunk) => chunk.length)).toEqual(data.map((chunk) => chunk.length));
      expect(Buffer.concat(read).equals(Buffer.concat(data))).toBe(true);
      const limit = (kind === "local" ? 1 : 4) * 1024 * KiB;
      expect(Math.max(...reads)).toBeLessThanOrEqual(limit);
      expect(Math.max(...reads)).toBeGreaterThan(limit - 64 * KiB - 100);
      expect(storesOnThisMachine(inner)).toBe(kind === "local");
    },
  );

  test("chunks a little apart in a pack come in one read unless maxGapBytes forbids it", async () => {
    const { repo, index, data, ids, gets } = await twoPacks();
    const every3rd = [0, 3, 6, 9];
    const wanted = every3rd.map((n) => ids[n]!);
    expect(await collect(readChunks(repo, index, wanted))).toEqual(every3rd.map((n) => data[n]));
    expect(gets()).toBe(1);
    expect(await collect(readChunks(repo, index, wanted, { maxGapBytes: 0 }))).toEqual(
      every3rd.map((n) => data[n]),
    );
    expect(gets()).toBe(1 + 4);
  });
});
