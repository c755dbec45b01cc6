import { pack } from "../archive/pack.js";
import type { PackOptions, PackResult } from "../archive/types.js";
import { StrongboxError } from "../errors.js";
import type { StorageAdapter } from "../storage/types.js";
import { activityEvent, failureReason, type ManagerContext } from "./context.js";
import { archiveKey } from "./keys.js";
import { createProgressReporter } from "./progress.js";
import type { RecordKeeper } from "./record-keeper.js";
import { finished, formatTimestamp } from "./records.js";
import { applyRetention } from "./retention.js";
import type { Actor, BackupRecord } from "./types.js";

/** One backup to run: its stored record, where to read, and what stops it. */
export interface BackupJob {
  keeper: RecordKeeper;
  root: string;
  ignore: string | readonly string[];
  actor: Actor | undefined;
  signal: AbortSignal;
}

/**
 * Packs the server folder straight into storage, then records the outcome: archive first, then the
 * successful manifest, so a manifest saying successful always has its archive. Any failure (source
 * missing, disk full, abort) leaves no archive and a failed record. Never rejects.
 */
export async function runBackup(context: ManagerContext, job: BackupJob): Promise<BackupRecord> {
  const { server, uuid } = job.keeper.current();
  const key = archiveKey(server, uuid);
  const progress = createProgressReporter(context.onProgress, { server, backup: uuid, operation: "backup" });
  try {
    const result = await packInto(context.storage, key, job.root, {
      ignore: job.ignore,
      level: context.level,
      signal: job.signal,
      onProgress: (counters) => progress.update(counters),
      onWarning: (warning) => context.onWarning({ server, backup: uuid, ...warning }),
    });
    progress.flush();
    const record = finished(job.keeper.current(), {
      checksum: result.checksum,
      bytes: result.bytes,
      is_successful: true,
      completed_at: formatTimestamp(context.now()),
    });
    await job.keeper.finish(record);
    context.emit(
      activityEvent(context, "server:backup.complete", record, job.actor, {
        name: record.name,
        bytes: record.bytes,
        checksum: result.checksum,
      }),
    );
    await applyRetention(context, server, uuid);
    return record;
  } catch (error) {
    return fail(context, job, key, failureReason(error, job.signal));
  }
}

async function fail(
  context: ManagerContext,
  job: BackupJob,
  key: string,
  reason: string,
): Promise<BackupRecord> {
  const record = finished(job.keeper.current(), {
    checksum: null,
    bytes: 0,
    is_successful: false,
    completed_at: formatTimestamp(context.now()),
    error: reason,
  });
  // Best effort on both: a leftover archive goes with the failed record when it is deleted, and a record
  // that could not be written stays in progress, unrefreshed, until recovery fails it.
  await context.storage.delete(key).catch(() => {});
  await job.keeper.finish(record).catch(() => {});
  context.emit(
    activityEvent(context, "server:backup.fail", record, job.actor, { name: record.name, error: reason }),
  );
  return record;
}

/**
 * Streams a pack into `storage.put`. When either side fails the other is stopped, and the error that
 * caused it (not the abort that followed) is thrown.
 */
async function packInto(
  storage: StorageAdapter,
  key: string,
  root: string,
  options: PackOptions & { signal: AbortSignal },
): Promise<PackResult> {
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  const handle = pack(root, { ...options, signal });
  let failed = false;
  let cause: unknown;
  const onFailure = (error: unknown): never => {
    if (!failed) {
      failed = true;
      cause = error;
      stop.abort(error);
    }
    throw error;
  };
  const packing = handle.result.catch(onFailure);
  const storing = storage.put(key, handle.stream, { signal }).catch(onFailure);
  await Promise.allSettled([packing, storing]);
  if (failed) throw cause;
  const [result, info] = await Promise.all([packing, storing]);
  if (info.size !== result.bytes) {
    throw new StrongboxError(
      "STORAGE_ERROR",
      `The storage kept ${info.size} bytes of a ${result.bytes}-byte archive; the backup was not saved.`,
      { details: { key, stored: info.size, sent: result.bytes } },
    );
  }
  return result;
}
