import { addAbortSignal, Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { abortError, StrongboxError, throwIfAborted } from "../errors.js";
import { objectNotFound } from "./object-not-found.js";
import { resolveRange } from "./ranges.js";
import type { ObjectInfo, StorageAdapter } from "./types.js";

/** Options of {@link createMemoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Objects fetched per internal page while listing (default 1000). Listing walks pages after a cursor,
   * as remote stores do, so objects added or removed mid-listing never break it.
   */
  pageSize?: number;
}

interface StoredObject {
  data: Buffer;
  modifiedAt: Date;
}

/**
 * A storage adapter that keeps objects in memory, for embedders' tests. It passes the storage contract;
 * it offers no download URLs (nothing outside the process could fetch them).
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): StorageAdapter {
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "The memory storage page size must be a whole number above 0.",
      {
        details: { pageSize },
      },
    );
  }
  const objects = new Map<string, StoredObject>();
  const info = (key: string, object: StoredObject): ObjectInfo => ({
    key,
    size: object.data.length,
    modifiedAt: object.modifiedAt,
  });

  return {
    name: "memory",

    async put(key, body, { signal, onProgress } = {}) {
      throwIfAborted(signal, "The upload");
      const chunks: Buffer[] = [];
      let size = 0;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(Buffer.from(chunk));
          size += chunk.length;
          onProgress?.(size);
          done();
        },
      });
      try {
        await pipeline(body, sink, signal ? { signal } : {});
      } catch (error) {
        if (signal?.aborted) throw abortError(signal, "The upload");
        throw error;
      }
      // A pipeline that finished normally may still race an abort fired on its last chunk.
      throwIfAborted(signal, "The upload");
      const object = { data: Buffer.concat(chunks, size), modifiedAt: new Date() };
      objects.set(key, object);
      return info(key, object);
    },

    async get(key, { signal, range } = {}) {
      throwIfAborted(signal, "The download");
      const object = objects.get(key);
      if (!object) throw objectNotFound(key);
      const span = resolveRange(range, object.data.length);
      const data = span ? object.data.subarray(span.start, span.end + 1) : object.data;
      const stream = Readable.from([data]);
      return signal ? addAbortSignal(signal, stream) : stream;
    },

    async stat(key) {
      const object = objects.get(key);
      return object && info(key, object);
    },

    async delete(key) {
      objects.delete(key);
    },

    async *list(prefix) {
      let after: string | undefined;
      for (;;) {
        const page = [...objects.keys()]
          .filter((key) => key.startsWith(prefix) && (after === undefined || key > after))
          .sort()
          .slice(0, pageSize);
        for (const key of page) {
          const object = objects.get(key);
          if (object) yield info(key, object);
        }
        if (page.length < pageSize) return;
        after = page.at(-1);
      }
    },
  };
}
