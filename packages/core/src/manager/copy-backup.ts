import { createHash } from "node:crypto";
import { StrongboxError } from "../errors.js";
import { limitRate, type RateLimiter } from "../io/rate-limit.js";
import type { StorageAdapter } from "../storage/types.js";
import { type BackupCatalog, createManifestCatalog } from "./catalog.js";
import { archiveKey } from "./keys.js";
import type { ProgressReporter } from "./progress.js";
import type { BackupRecord } from "./types.js";

/** Copies successful backups from one storage to another, verified: what `migrate` and replicas share. */
export interface BackupCopier {
  /** The records of `from`. */
  source: BackupCatalog;
  /** The records of `to`. */
  target: BackupCatalog;
  /**
   * Whether `to` already holds the backup: its successful manifest with the same checksum and an archive of
   * the recorded size. The manifest vouches that the archive verified on arrival, so nothing is re-read.
   */
  isPresent(record: BackupRecord): Promise<boolean>;
  /**
   * Streams the archive of a successful `record` into `to`, hashing it on the way, then writes `manifest`
   * (default: the record with `disk` set to `to`'s name). On a checksum or size mismatch the copy is deleted
   * and `CHECKSUM_MISMATCH` thrown, so a manifest only ever exists in `to` for an archive that verified.
   */
  copy(record: BackupRecord, options?: CopyOptions): Promise<void>;
}

/** Options of one {@link BackupCopier.copy}. */
export interface CopyOptions {
  signal?: AbortSignal;
  progress?: ProgressReporter;
  /** The manifest written in `to` once the archive verified. */
  manifest?: BackupRecord;
}

/** Creates a copier; `putLimiters` (shared by all its copies) pace the bytes put into `to`. */
export function createBackupCopier(
  from: StorageAdapter,
  to: StorageAdapter,
  putLimiters: readonly RateLimiter[] = [],
): BackupCopier {
  const source = createManifestCatalog(from);
  const target = createManifestCatalog(to);

  async function copyArchive(record: BackupRecord, options: CopyOptions): Promise<void> {
    const { signal, progress } = options;
    const key = archiveKey(record.server, record.uuid);
    const hash = createHash("sha256");
    let bytes = 0;
    const stream = await from.get(key, signal ? { signal } : {});
    const seen = tap(stream, (chunk) => {
      hash.update(chunk);
      bytes += chunk.byteLength;
      progress?.update({ bytes, files: 0, totalBytes: record.bytes });
    });
    const body = putLimiters.length > 0 ? limitRate(seen, putLimiters, signal) : seen;
    try {
      await to.put(key, body, signal ? { signal } : {});
    } finally {
      // A put that failed before reading must not leave the source open.
      stream.destroy();
    }
    progress?.flush();
    const checksum = `sha256:${hash.digest("hex")}`;
    if (checksum !== record.checksum || bytes !== record.bytes) {
      await to.delete(key);
      throw new StrongboxError(
        "CHECKSUM_MISMATCH",
        `The copy of backup ${record.uuid} does not match its record (${checksum}, ${bytes} bytes); the source archive may be damaged.`,
        {
          details: {
            server: record.server,
            backup: record.uuid,
            expected: record.checksum,
            actual: checksum,
          },
        },
      );
    }
  }

  return {
    source,
    target,
    async isPresent(record) {
      const copy = await target.get(record.server, record.uuid).catch(() => undefined);
      if (!copy?.is_successful || copy.checksum !== record.checksum) return false;
      const archive = await to.stat(archiveKey(record.server, record.uuid));
      return archive?.size === record.bytes;
    },
    async copy(record, options = {}) {
      await copyArchive(record, options);
      await target.put(options.manifest ?? { ...record, disk: to.name });
    },
  };
}

/** Passes chunks through unchanged, showing each to `see` first; pulls only as fast as it is read. */
async function* tap(
  source: AsyncIterable<Uint8Array>,
  see: (chunk: Uint8Array) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    see(chunk);
    yield chunk;
  }
}
