import { Readable } from "node:stream";
import { createMemoryStorage, type StorageAdapter } from "@strongbox/core";
import { describe, expect, test } from "vitest";
import { initRepository, openRepository } from "../src/index.js";
import { useRepositoryStorages } from "./fixtures/storages.js";

// Cheap scrypt for tests: the format is the same, only slower to guess.
const KDF = { N: 2 ** 10, r: 8, p: 1 };
const MARKER = "planted-marker-7f3a";

const STORAGES = useRepositoryStorages("repository");

/** Every stored object: key and bytes. */
async function stored(storage: StorageAdapter): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  for await (const info of storage.list("")) {
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.get(info.key)) chunks.push(Buffer.from(chunk as Uint8Array));
    objects.set(info.key, Buffer.concat(chunks));
  }
  return objects;
}

describe.each(STORAGES)("a repository on %s", (_, makeStorage) => {
  test("without a password: plain objects, sha256 chunk ids, the default chunk sizes", async () => {
    const storage = await makeStorage();
    const made = await initRepository({ storage, prefix: "repo" });
    const repo = await openRepository({ storage, prefix: "repo" });
    expect(repo.config).toEqual(made.config);
    expect(repo.config).toMatchObject({ version: 2, encryption: "none", chunker: { average: 16 * 1024 } });
    expect(repo.chunkId(Buffer.from("abc"))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(repo.openObject(repo.sealObject(Buffer.from("x"), "pack 1"), "pack 1").toString()).toBe("x");
    await expect(repo.addPassword("secret")).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  test("with a password: nothing stored reveals a planted marker, and ids and cuts are keyed", async () => {
    const storage = await makeStorage();
    const repo = await initRepository({ storage, prefix: "repo", password: "correct horse", kdf: KDF });
    const content = Buffer.from(`${MARKER} ${"x".repeat(100_000)} ${MARKER}`);
    await storage.put("repo/data/pack-1", Readable.from([repo.sealObject(content, "pack 1")]));
    for (const [key, bytes] of await stored(storage)) {
      expect({ key, leaks: bytes.includes(MARKER) }).toEqual({ key, leaks: false });
    }
    const reopened = await openRepository({ storage, prefix: "repo", password: "correct horse" });
    const [sealed] = [...(await stored(storage)).entries()].filter(([key]) => key.endsWith("pack-1"));
    expect(reopened.openObject(sealed![1], "pack 1")).toEqual(content);
    // Bound to its name: the same bytes do not open as another object.
    expect(() => reopened.openObject(sealed![1], "pack 2")).toThrow(/fails authentication/);
    const plainId = (await initRepository({ storage, prefix: "plain" })).chunkId(content);
    expect(reopened.chunkId(content)).not.toBe(plainId);
    expect(reopened.chunkId(content)).toBe(repo.chunkId(content));
  });

  test("a wrong password is PERMISSION_DENIED and changes nothing", async () => {
    const storage = await makeStorage();
    await initRepository({ storage, prefix: "repo", password: "right", kdf: KDF });
    const before = await stored(storage);
    await expect(openRepository({ storage, prefix: "repo", password: "wrong" })).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
      message: expect.stringMatching(/opens none of the repository's 1 key slot/),
    });
    await expect(openRepository({ storage, prefix: "repo" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(/is encrypted: give its password/),
    });
    expect(await stored(storage)).toEqual(before);
  });

  test("passwords are added, changed and removed without touching data; the last slot stays", async () => {
    const storage = await makeStorage();
    const repo = await initRepository({ storage, prefix: "repo", password: "first", kdf: KDF });
    const [firstSlot] = await repo.listKeys();
    const sealed = repo.sealObject(Buffer.from("data"), "pack 1");
    const second = await repo.addPassword("second", KDF);
    expect((await repo.listKeys()).map((key) => key.id).sort()).toEqual([firstSlot!.id, second].sort());
    const viaSecond = await openRepository({ storage, prefix: "repo", password: "second" });
    expect(viaSecond.openObject(sealed, "pack 1").toString()).toBe("data");

    const third = await viaSecond.changePassword("third", KDF);
    await expect(openRepository({ storage, prefix: "repo", password: "second" })).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
    });
    const viaThird = await openRepository({ storage, prefix: "repo", password: "third" });
    expect(viaThird.openObject(sealed, "pack 1").toString()).toBe("data");

    await viaThird.removeKey(firstSlot!.id);
    await expect(openRepository({ storage, prefix: "repo", password: "first" })).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
    });
    await expect(viaThird.removeKey(third)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(viaThird.removeKey("00000000-0000-4000-8000-000000000000")).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    expect((await viaThird.listKeys()).map((key) => key.id)).toEqual([third]);
  });

  test("a missing repository, one already there, a newer or older format version and a damaged config are clear errors", async () => {
    const storage = await makeStorage();
    await expect(openRepository({ storage, prefix: "none" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await initRepository({ storage, prefix: "repo" });
    await expect(initRepository({ storage, prefix: "repo" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(/already exists/),
    });

    const config = JSON.parse((await stored(storage)).get("repo/config.json")!.toString());
    await storage.put(
      "newer/config.json",
      Readable.from([Buffer.from(JSON.stringify({ ...config, version: 3 }))]),
    );
    await storage.put(
      "older/config.json",
      Readable.from([Buffer.from(JSON.stringify({ ...config, version: 1 }))]),
    );
    await storage.put("garbage/config.json", Readable.from([Buffer.from("\u0000\u0001 not json")]));
    await storage.put(
      "broken/config.json",
      Readable.from([Buffer.from(JSON.stringify({ ...config, chunker: {} }))]),
    );
    const before = await stored(storage);
    await expect(openRepository({ storage, prefix: "newer" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(/format version 3; this Strongbox reads version 2\. Upgrade Strongbox/),
      details: { formatVersion: 3, supported: 2 },
    });
    await expect(openRepository({ storage, prefix: "older" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(
        /format version 1, written by a development build.*reads version 2 only/,
      ),
      details: { formatVersion: 1, supported: 2 },
    });
    await expect(openRepository({ storage, prefix: "garbage" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(/does not hold a Strongbox repository config/),
    });
    await expect(openRepository({ storage, prefix: "broken" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(/is damaged/),
    });
    expect(await stored(storage)).toEqual(before);
  });
});

describe("inputs", () => {
  test("bad prefixes, empty passwords and bad chunk sizes are refused before anything is written", async () => {
    const storage = createMemoryStorage();
    await expect(initRepository({ storage, prefix: "../up" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(initRepository({ storage, password: "" })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(
      initRepository({ storage, chunkSizes: { min: 10, average: 100, max: 1000 } }),
    ).rejects.toThrow(/power of two/);
    expect(await stored(storage)).toEqual(new Map());
  });

  test("a key slot with a hostile scrypt cost is skipped, not derived", async () => {
    const storage = createMemoryStorage();
    const repo = await initRepository({ storage, password: "pw", kdf: KDF });
    const [slot0] = await repo.listKeys();
    const id = slot0!.id;
    const slot = JSON.parse((await stored(storage)).get(`keys/${id}.json`)!.toString());
    await storage.put(
      `keys/${id}.json`,
      Readable.from([Buffer.from(JSON.stringify({ ...slot, cost: { N: 2 ** 30, r: 64, p: 1 } }))]),
    );
    await expect(openRepository({ storage, password: "pw" })).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
    });
  });
});
