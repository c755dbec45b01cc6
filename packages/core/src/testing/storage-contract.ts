import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_DOWNLOAD_EXPIRY_SECONDS } from "../storage/download-options.js";
import type { ObjectInfo, StorageAdapter } from "../storage/types.js";
import { withKeyValidation } from "../storage/with-key-validation.js";
import { hashStream, patternBytes, patternSha256, readAll, streamPattern } from "./bytes.js";

/** What a {@link describeStorageContract} setup hands the suite, once per test. */
export interface StorageContractSubject {
  /**
   * The adapter under test, holding no objects. The suite wraps it with `withKeyValidation`, as core
   * does, so it sees only valid keys. Configure it with a tiny list page size (see `listPageSize`).
   */
  adapter: StorageAdapter;
  /** Releases what setup made (temp folders, servers, buckets); runs after each test. */
  cleanup?: () => Promise<void>;
  /**
   * The list page size the adapter was configured with (e.g. 2). The suite stores more than two pages of
   * objects and expects every one back. Default 2.
   */
  listPageSize?: number;
  /**
   * Bytes per multipart part, when the adapter uploads in parts. The unknown-length upload sends 2.5
   * parts' worth, and failed or aborted uploads stop after more than one part. Default 5 MiB.
   */
  partSize?: number;
  /** Fetches a download URL. Default: the global `fetch`. */
  fetchUrl?: (url: string, init?: RequestInit) => Promise<Response>;
  /**
   * Moves the clock the adapter signs download URLs with by `ms` (negative: into the past). The suite
   * shifts it back, asks for a URL, and shifts it forward again, so the URL was issued in the past; the
   * party that checks URLs must then judge it by real time (S3) or by the same clock (local tokens).
   * Without it, the expiry test asks for a 1-second URL and waits (by polling the clock) for it to lapse,
   * and the 15-minute default is not checked.
   */
  shiftClock?: (ms: number) => void;
}

/** Options of {@link describeStorageContract}. */
export interface StorageContractOptions {
  /**
   * Whether the adapter offers `downloadUrl` (default `true`). With `false` the suite checks that the
   * method is absent instead of testing URLs.
   */
  downloadUrls?: boolean;
}

const MIB = 1024 * 1024;

/**
 * Registers the storage contract every adapter must pass, as vitest tests. Call it from a test file:
 *
 * @example
 * ```ts
 * import { describeStorageContract } from "@strongbox/core/testing";
 * describeStorageContract("my-adapter", async () => {
 *   const adapter = createMyStorage({ pageSize: 2 });
 *   return { adapter, listPageSize: 2, cleanup: () => adapter.close() };
 * });
 * ```
 *
 * `setup` runs before each test and must return an adapter holding no objects.
 */
export function describeStorageContract(
  name: string,
  setup: () => Promise<StorageContractSubject>,
  options: StorageContractOptions = {},
): void {
  describe(`storage contract: ${name}`, () => {
    let subject: StorageContractSubject | undefined;
    let store: StorageAdapter;
    const pageSize = () => subject?.listPageSize ?? 2;
    const partSize = () => subject?.partSize ?? 5 * MIB;

    beforeEach(async () => {
      subject = await setup();
      store = withKeyValidation(subject.adapter);
    });

    afterEach(async () => {
      const done = subject;
      subject = undefined;
      await done?.cleanup?.();
    });

    async function putBytes(key: string, bytes: Buffer): Promise<ObjectInfo> {
      return store.put(key, Readable.from([bytes]));
    }

    async function listKeys(prefix: string): Promise<string[]> {
      const keys: string[] = [];
      for await (const info of store.list(prefix)) keys.push(info.key);
      return keys;
    }

    async function expectNoObject(key: string): Promise<void> {
      expect(await store.stat(key)).toBeUndefined();
      await expect(store.get(key)).rejects.toMatchObject({ code: "NOT_FOUND" });
      expect(await listKeys("")).not.toContain(key);
    }

    describe("put, get and stat", () => {
      it("round-trips every byte value exactly", async () => {
        const bytes = Buffer.concat([
          Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
          patternBytes(4093),
        ]);
        const info = await putBytes("srv/all-bytes.bin", bytes);
        expect(info).toMatchObject({ key: "srv/all-bytes.bin", size: bytes.length });
        const stat = await store.stat("srv/all-bytes.bin");
        expect(stat).toMatchObject({ key: "srv/all-bytes.bin", size: bytes.length });
        expect(stat?.modifiedAt).toBeInstanceOf(Date);
        expect((await readAll(await store.get("srv/all-bytes.bin"))).equals(bytes)).toBe(true);
      });

      it("stores an empty object", async () => {
        expect(await store.put("srv/empty.bin", Readable.from([]))).toMatchObject({ size: 0 });
        expect(await store.stat("srv/empty.bin")).toMatchObject({ size: 0 });
        expect(await readAll(await store.get("srv/empty.bin"))).toHaveLength(0);
      });

      it("replaces an object written twice under the same key", async () => {
        await putBytes("srv/twice.bin", patternBytes(3000, 1));
        const second = patternBytes(1200, 2);
        await putBytes("srv/twice.bin", second);
        expect(await store.stat("srv/twice.bin")).toMatchObject({ size: 1200 });
        expect((await readAll(await store.get("srv/twice.bin"))).equals(second)).toBe(true);
      });

      it("streams an upload of unknown length across several parts", async () => {
        const total = Math.floor(partSize() * 2.5) + 4321;
        const progress: number[] = [];
        const info = await store.put("srv/large.tar.gz", streamPattern(total, { seed: 7 }), {
          onProgress: (bytes) => progress.push(bytes),
        });
        expect(info).toMatchObject({ key: "srv/large.tar.gz", size: total });
        expect(progress.length).toBeGreaterThan(0);
        expect(progress.every((bytes, i) => i === 0 || bytes >= (progress[i - 1] ?? 0))).toBe(true);
        expect(progress.at(-1)).toBe(total);
        expect(await store.stat("srv/large.tar.gz")).toMatchObject({ size: total });
        expect(await hashStream(await store.get("srv/large.tar.gz"))).toEqual({
          sha256: patternSha256(total, 7),
          size: total,
        });
      });

      it("reads byte ranges, capping the end at the last byte", async () => {
        const bytes = patternBytes(1000, 3);
        await putBytes("srv/ranged.bin", bytes);
        const read = async (start: number, end?: number) =>
          readAll(
            await store.get("srv/ranged.bin", { range: end === undefined ? { start } : { start, end } }),
          );
        expect((await read(0, 0)).equals(bytes.subarray(0, 1))).toBe(true);
        expect((await read(10, 19)).equals(bytes.subarray(10, 20))).toBe(true);
        expect((await read(990)).equals(bytes.subarray(990))).toBe(true);
        expect((await read(995, 5000)).equals(bytes.subarray(995))).toBe(true);
        expect((await read(999, 999)).equals(bytes.subarray(999))).toBe(true);
      });

      it("refuses ranges that start beyond the object or are malformed", async () => {
        await putBytes("srv/ranged.bin", patternBytes(100));
        for (const range of [{ start: 100 }, { start: 500, end: 600 }, { start: -1 }, { start: 5, end: 4 }]) {
          await expect(store.get("srv/ranged.bin", { range })).rejects.toMatchObject({
            code: "INVALID_INPUT",
          });
        }
      });

      it("reports a missing key: stat gives undefined, get rejects with NOT_FOUND", async () => {
        await putBytes("srv/present.bin", patternBytes(10));
        expect(await store.stat("srv/missing.bin")).toBeUndefined();
        expect(await store.stat("other/missing.bin")).toBeUndefined();
        await expect(store.get("srv/missing.bin")).rejects.toMatchObject({ code: "NOT_FOUND" });
        await expect(store.get("srv/missing.bin", { range: { start: 0, end: 1 } })).rejects.toMatchObject({
          code: "NOT_FOUND",
        });
      });
    });

    describe("delete", () => {
      it("removes an object, and succeeds again when it is already gone", async () => {
        await putBytes("srv/gone.bin", patternBytes(10));
        await putBytes("srv/gone.bin2", patternBytes(10));
        await store.delete("srv/gone.bin");
        await expectNoObject("srv/gone.bin");
        await expect(store.delete("srv/gone.bin")).resolves.toBeUndefined();
        await expect(store.delete("never/was.bin")).resolves.toBeUndefined();
        expect(await store.stat("srv/gone.bin2")).toMatchObject({ size: 10 });
      });
    });

    describe("list", () => {
      it("lists more objects than a page holds, each once, sorted by key", async () => {
        const count = pageSize() * 2 + 1;
        const keys = Array.from({ length: count }, (_, i) => `srv/page/k-${String(i).padStart(3, "0")}.bin`);
        for (const [i, key] of [...keys].reverse().entries()) await putBytes(key, patternBytes(i + 1));
        const listed: ObjectInfo[] = [];
        for await (const info of store.list("srv/page")) listed.push(info);
        expect(listed.map((info) => info.key)).toEqual(keys);
        expect(listed.map((info) => info.size)).toEqual(keys.map((_, i) => count - i));
        expect(listed.every((info) => info.modifiedAt instanceof Date)).toBe(true);
      });

      it("treats a prefix as a folder: `a` lists a/... and never ab/... or a.txt", async () => {
        for (const key of ["a/1.bin", "a/b/2.bin", "ab/3.bin", "a.txt", "b/4.bin", "a-b/5.bin"]) {
          await putBytes(key, patternBytes(3));
        }
        expect(await listKeys("a")).toEqual(["a/1.bin", "a/b/2.bin"]);
        expect(await listKeys("a/")).toEqual(["a/1.bin", "a/b/2.bin"]);
        expect(await listKeys("a/b")).toEqual(["a/b/2.bin"]);
        expect(await listKeys("a/1.bin")).toEqual([]);
        expect(await listKeys("nothing/here")).toEqual([]);
        expect(await listKeys("")).toEqual([
          "a-b/5.bin",
          "a.txt",
          "a/1.bin",
          "a/b/2.bin",
          "ab/3.bin",
          "b/4.bin",
        ]);
      });
    });

    describe("keys", () => {
      const badKeys = [
        "../escape.bin",
        "srv/../../escape.bin",
        "srv/..",
        "/etc/passwd",
        "srv//double.bin",
        "./srv/x.bin",
        "srv/",
        "",
        "srv\\..\\escape.bin",
        "srv/nul\u0000.bin",
        "srv/new\nline.bin",
        "srv/space here.bin",
        `srv/${"x".repeat(1100)}`,
      ];

      it("refuses traversal and malformed keys with INVALID_INPUT and stores nothing", async () => {
        for (const key of badKeys) {
          const body = watchedBody();
          await expect(store.put(key, body)).rejects.toMatchObject({ code: "INVALID_INPUT" });
          expect(body.wasRead()).toBe(false);
          await expect(store.get(key)).rejects.toMatchObject({ code: "INVALID_INPUT" });
          await expect(store.stat(key)).rejects.toMatchObject({ code: "INVALID_INPUT" });
          await expect(store.delete(key)).rejects.toMatchObject({ code: "INVALID_INPUT" });
          if (store.downloadUrl) {
            await expect(store.downloadUrl(key)).rejects.toMatchObject({ code: "INVALID_INPUT" });
          }
        }
        for (const prefix of ["../", "srv/../..", "/srv", "srv//x"]) {
          await expect(listKeys(prefix)).rejects.toMatchObject({ code: "INVALID_INPUT" });
        }
        expect(await listKeys("")).toEqual([]);
      });
    });

    describe("atomic puts", () => {
      it("keeps an object invisible until its upload completes", async () => {
        const pulled = deferred();
        const gate = deferred();
        const body = streamPattern(64 * 1024, {
          chunkSize: 16 * 1024,
          beforeChunk: async (sent) => {
            if (sent === 0) return;
            pulled.resolve();
            await gate.promise;
          },
        });
        const put = store.put("srv/pending.bin", body);
        await pulled.promise;
        expect(await store.stat("srv/pending.bin")).toBeUndefined();
        expect(await listKeys("")).toEqual([]);
        await expect(store.get("srv/pending.bin")).rejects.toMatchObject({ code: "NOT_FOUND" });
        gate.resolve();
        expect(await put).toMatchObject({ size: 64 * 1024 });
        expect(await listKeys("")).toEqual(["srv/pending.bin"]);
      });

      it("leaves no object when the source fails half-way", async () => {
        const failure = new Error("source broke");
        const body = streamPattern(partSize() * 3, {
          beforeChunk: (sent) => {
            if (sent > partSize()) throw failure;
          },
        });
        await expect(store.put("srv/failed.bin", body)).rejects.toBeTruthy();
        await expectNoObject("srv/failed.bin");
        expect(await listKeys("")).toEqual([]);
      });

      it("keeps the previous version when a replacing upload fails", async () => {
        const first = patternBytes(2048, 5);
        await putBytes("srv/kept.bin", first);
        const body = streamPattern(partSize() * 3, {
          beforeChunk: (sent) => {
            if (sent > partSize()) throw new Error("source broke");
          },
        });
        await expect(store.put("srv/kept.bin", body)).rejects.toBeTruthy();
        expect((await readAll(await store.get("srv/kept.bin"))).equals(first)).toBe(true);
        expect(await listKeys("")).toEqual(["srv/kept.bin"]);
      });

      it("rejects with ABORTED and leaves no object when aborted half-way", async () => {
        const controller = new AbortController();
        const body = streamPattern(partSize() * 3, {
          beforeChunk: (sent) => {
            if (sent > partSize() && !controller.signal.aborted) controller.abort();
          },
        });
        await expect(store.put("srv/aborted.bin", body, { signal: controller.signal })).rejects.toMatchObject(
          {
            code: "ABORTED",
          },
        );
        await expectNoObject("srv/aborted.bin");
        expect(await listKeys("")).toEqual([]);
      });

      it("rejects with ABORTED when the signal has already fired", async () => {
        const controller = new AbortController();
        controller.abort();
        await expect(
          store.put("srv/early.bin", Readable.from([patternBytes(10)]), { signal: controller.signal }),
        ).rejects.toMatchObject({ code: "ABORTED" });
        await expectNoObject("srv/early.bin");
      });
    });

    if (options.downloadUrls === false) {
      it("offers no download URLs", () => {
        expect(subject?.adapter.downloadUrl).toBeUndefined();
        expect(store.downloadUrl).toBeUndefined();
      });
      return;
    }

    describe("download URLs", () => {
      const fetchUrl = (url: string, init?: RequestInit) => (subject?.fetchUrl ?? fetch)(url, init);

      async function issue(key: string, expiresIn: number | undefined, ageMs: number): Promise<string> {
        const shift = subject?.shiftClock;
        if (!shift) throw new Error("issue() needs shiftClock");
        shift(-ageMs);
        try {
          return await downloadUrlOf(store)(key, expiresIn === undefined ? {} : { expiresIn });
        } finally {
          shift(ageMs);
        }
      }

      it("downloads the object, with its file name and ranges", async () => {
        const bytes = patternBytes(3000, 9);
        await putBytes("srv/backup.tar.gz", bytes);
        const url = await downloadUrlOf(store)("srv/backup.tar.gz", { filename: "Nightly backup.tar.gz" });
        const res = await fetchUrl(url);
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
        const disposition = res.headers.get("content-disposition");
        if (disposition !== null) expect(disposition).toContain("Nightly backup.tar.gz");
        const ranged = await fetchUrl(url, { headers: { range: "bytes=100-199" } });
        expect(ranged.status).toBe(206);
        expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
      });

      it("stops working once the object is deleted", async () => {
        await putBytes("srv/deleted.tar.gz", patternBytes(100));
        const url = await downloadUrlOf(store)("srv/deleted.tar.gz");
        await store.delete("srv/deleted.tar.gz");
        const res = await fetchUrl(url);
        await res.arrayBuffer();
        expect(res.status).toBe(404);
      });

      it("expires", async () => {
        await putBytes("srv/expiring.tar.gz", patternBytes(100));
        let url: string;
        if (subject?.shiftClock) {
          url = await issue("srv/expiring.tar.gz", 60, 120_000);
        } else {
          const issuedAt = Date.now();
          url = await downloadUrlOf(store)("srv/expiring.tar.gz", { expiresIn: 1 });
          await waitUntil(issuedAt + 2_100);
        }
        const res = await fetchUrl(url);
        await res.arrayBuffer();
        expect([401, 403]).toContain(res.status);
      });

      it("lasts 15 minutes by default", async () => {
        expect(DEFAULT_DOWNLOAD_EXPIRY_SECONDS).toBe(900);
        await putBytes("srv/default.tar.gz", patternBytes(100));
        if (!subject?.shiftClock) {
          // Without a clock to move, only "valid right after issue" can be checked.
          const res = await fetchUrl(await downloadUrlOf(store)("srv/default.tar.gz"));
          await res.arrayBuffer();
          expect(res.status).toBe(200);
          return;
        }
        const young = await fetchUrl(await issue("srv/default.tar.gz", undefined, 14 * 60_000));
        await young.arrayBuffer();
        expect(young.status).toBe(200);
        const old = await fetchUrl(await issue("srv/default.tar.gz", undefined, 16 * 60_000));
        await old.arrayBuffer();
        expect([401, 403]).toContain(old.status);
      });
    });
  });
}

/** A small body that tells whether anyone started reading it: a refused put must not consume its source. */
function watchedBody(): AsyncIterable<Uint8Array> & { wasRead(): boolean } {
  let read = false;
  return {
    wasRead: () => read,
    async *[Symbol.asyncIterator]() {
      read = true;
      yield patternBytes(10);
    },
  };
}

/** A promise with its resolve function, for handing control between a test and a stream it feeds. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function downloadUrlOf(store: StorageAdapter): NonNullable<StorageAdapter["downloadUrl"]> {
  const downloadUrl = store.downloadUrl;
  if (!downloadUrl) {
    throw new Error(
      "The adapter has no downloadUrl; pass { downloadUrls: false } to describeStorageContract.",
    );
  }
  return downloadUrl.bind(store);
}

/** Waits until the wall clock reaches `deadline` (ms since the epoch): for expiry, time itself must pass. */
async function waitUntil(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, deadline - Date.now())));
  }
}
