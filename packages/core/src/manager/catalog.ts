import { Readable } from "node:stream";
import PQueue from "p-queue";
import { isStrongboxError, StrongboxError } from "../errors.js";
import type { StorageAdapter } from "../storage/types.js";
import { withKeyValidation } from "../storage/with-key-validation.js";
import { manifestKey, parseManifestKey } from "./keys.js";
import { asBackupRecord } from "./records.js";
import type { BackupRecord } from "./types.js";

/**
 * Where backup records live. The default keeps them as JSON manifests beside the archives
 * ({@link createManifestCatalog}); an embedder that keeps records in its own database implements this.
 * Server ids and uuids are validated by the manager before a catalog sees them.
 */
export interface BackupCatalog {
  /** One record, or `undefined` when the server has no such backup. */
  get(server: string, uuid: string): Promise<BackupRecord | undefined>;
  /** Every record of a server, in any order. */
  list(server: string): Promise<BackupRecord[]>;
  /** Creates or replaces a record (keyed by its `server` and `uuid`). */
  put(record: BackupRecord): Promise<void>;
  /** Removes a record; removing a missing one succeeds. */
  delete(server: string, uuid: string): Promise<void>;
  /** Every server that has at least one record (crash recovery walks them all). */
  servers(): Promise<string[]>;
}

// A manifest is a few hundred bytes; anything far larger is not ours and is not read into memory.
const MAX_MANIFEST_BYTES = 1024 * 1024;
const READ_CONCURRENCY = 8;

/**
 * The default catalog: each record is a JSON manifest `<server>/<uuid>.json` in the same storage as the
 * archive `<server>/<uuid>.tar.gz`, so copying a storage carries its records. Storage writes are atomic,
 * so a manifest is never seen half-written. `list` leaves out manifests that are unreadable or do not
 * hold a record (one bad file must not hide a server's other backups); `get` reports them as
 * `STORAGE_ERROR`.
 */
export function createManifestCatalog(storage: StorageAdapter): BackupCatalog {
  const store = withKeyValidation(storage);

  async function read(server: string, uuid: string): Promise<BackupRecord | undefined> {
    const key = manifestKey(server, uuid);
    let text: string;
    try {
      text = await readText(await store.get(key), key);
    } catch (error) {
      if (isStrongboxError(error, "NOT_FOUND")) return undefined;
      throw error;
    }
    const record = asBackupRecord(parseJson(text), server, uuid);
    if (!record) {
      throw new StrongboxError(
        "STORAGE_ERROR",
        `The manifest ${key} does not hold a backup record of this server.`,
        {
          details: { key },
        },
      );
    }
    return record;
  }

  return {
    get: read,
    async list(server) {
      const queue = new PQueue({ concurrency: READ_CONCURRENCY });
      const reads: Promise<BackupRecord | undefined>[] = [];
      for await (const info of store.list(`${server}/`)) {
        const names = parseManifestKey(info.key);
        if (names?.server !== server) continue;
        reads.push(queue.add(() => read(server, names.uuid).catch(() => undefined)));
      }
      const records = await Promise.all(reads);
      return records.filter((record): record is BackupRecord => record !== undefined);
    },
    async put(record) {
      const body = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
      await store.put(manifestKey(record.server, record.uuid), Readable.from([body]));
    },
    async delete(server, uuid) {
      await store.delete(manifestKey(server, uuid));
    },
    async servers() {
      const found = new Set<string>();
      for await (const info of store.list("")) {
        const names = parseManifestKey(info.key);
        if (names) found.add(names.server);
      }
      return [...found].sort();
    },
  };
}

async function readText(stream: AsyncIterable<Uint8Array>, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > MAX_MANIFEST_BYTES) {
      throw new StrongboxError("STORAGE_ERROR", `The manifest ${key} is too large to be a backup record.`, {
        details: { key, limit: MAX_MANIFEST_BYTES },
      });
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
