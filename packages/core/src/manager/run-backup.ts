import { pack } from "../archive/pack/pack.js";
import type { PackOptions, PackResult } from "../archive/types.js";
import { isStrongboxError, StrongboxError, throwIfAborted } from "../errors.js";
import { limitRate, type RateLimiter } from "../io/rate-limit.js";
import type { TreeSize } from "../io/source-size.js";
import type { StorageAdapter } from "../storage/types.js";
import { activityEvent, failureReason, type ManagerContext } from "./context.js";
import { runAfterHook, runHook } from "./hooks.js";
import { archiveKey } from "./keys.js";
import { createProgressReporter } from "./progress.js";
import { archiveDirection, limitersFor, type RateLimit } from "./rate-limits.js";
import type { RecordKeeper } from "./record-keeper.js";
import { formatTimestamp } from "./records.js";
import { applyRetention } from "./retention.js";
import { backupSourceTotal } from "./source-total.js";
import { checkBackupSpace, explainFullDisk } from "./space.js";
import type { Actor, BackupRecord } from "./types.js";

/** One backup to run: its stored record, where to read, and what stops it. */
export interface BackupJob {
  keeper: RecordKeeper;
  root: string;
  ignore: string | readonly string[];
  actor: Actor | undefined;
  signal: AbortSignal;
  /** Expected archive size per source byte, for the space check (see `archiveRatio`). */
  ratio: number;
  /** The backup's own I/O limit. */
  rateLimit: RateLimit | undefined;
  /** Told once the outcome is recorded, before retention and the after-hook. */
  recorded: () => void;
}

/**
 * Checks the space, runs the before-hook, packs the server folder straight into storage, then records the
 * outcome: archive first, then the successful manifest, so a manifest saying successful always has its
 * archive. Any failure (no space, a failed hook, source missing, disk full, abort) leaves no archive and a
 * failed record. The after-hook then runs whatever happened, once the before-hook was reached. Never rejects.
 */
export async function runBackup(context: ManagerContext, job: BackupJob): Promise<BackupRecord> {
  const { server, uuid } = job.keeper.current();
  const key = archiveKey(server, uuid);
  let hooked = false;
  let record: BackupRecord;
  let failure: Error | undefined;
  let size: TreeSize | undefined;
  try {
    // Cancelled while queued: fail at once, before the hooks.
    throwIfAborted(job.signal, "The backup");
    size = await checkBackupSpace(context, { ...job, record: job.keeper.current() });
    hooked = true;
    const before = { server, record: { ...job.keeper.current() } };
    await runHook("beforeBackup", context.hooks.beforeBackup, before, context.hookTimeoutMs, job.signal);
    record = await saveBackup(context, job, key, size);
  } catch (caught) {
    const { name } = job.keeper.current();
    const error = await explainFullDisk(
      caught,
      `backup "${name}" of server ${server}`,
      `the volume of the ${context.storage.name} storage`,
      size ? Math.ceil(size.bytes * job.ratio) : undefined,
      async () => context.storage.freeSpace?.(),
    );
    failure = error instanceof Error ? error : new Error(String(error));
    record = await fail(context, job, key, failureReason(error, job.signal));
  }
  // After every backup, failed ones too: a schedule that keeps failing must not pile up failed records.
  await applyRetention(context, server, uuid);
  if (hooked) await runAfterHook(context, "afterBackup", context.hooks.afterBackup, record, failure);
  return record;
}

/** Packs into storage and records the successful backup; throws on any failure. */
async function saveBackup(
  context: ManagerContext,
  job: BackupJob,
  key: string,
  size: TreeSize | undefined,
): Promise<BackupRecord> {
  const { server, uuid } = job.keeper.current();
  const progress = createProgressReporter(context.onProgress, { server, backup: uuid, operation: "backup" });
  const total = backupSourceTotal(job, size, context.onProgress !== undefined);
  const { limiters } = context;
  const result = await packInto(
    context.storage,
    key,
    job.root,
    {
      ignore: job.ignore,
      level: context.level,
      workers: context.workers,
      signal: job.signal,
      readLimiters: limitersFor("read", limiters, job.rateLimit),
      onProgress: (counters) => progress.update({ ...counters, ...total.current() }),
      onWarning: (warning) => context.onWarning({ server, backup: uuid, ...warning }),
    },
    limitersFor(archiveDirection(context.storage), limiters, job.rateLimit),
  ).finally(total.stop);
  progress.flush();
  const record = await job.keeper.finish({
    checksum: result.checksum,
    bytes: result.bytes,
    is_successful: true,
    completed_at: formatTimestamp(context.now()),
    source_bytes: result.sourceBytes,
    files: result.files,
    ...(context.replica && { copies: [context.replica.pending()] }),
  });
  job.recorded();
  context.emit(
    activityEvent(context, "server:backup.complete", record, job.actor, {
      name: record.name,
      bytes: record.bytes,
      checksum: result.checksum,
    }),
  );
  // In the background, off the server's slot: the next backup never waits for a copy.
  context.replica?.enqueue(server, uuid);
  return record;
}

async function fail(
  context: ManagerContext,
  job: BackupJob,
  key: string,
  reason: string,
): Promise<BackupRecord> {
  // Best effort on both: a leftover archive goes with the failed record when it is deleted, and a record
  // that could not be written stays in progress, unrefreshed, until recovery fails it.
  await context.storage.delete(key).catch(() => {});
  const changes = {
    checksum: null,
    bytes: 0,
    is_successful: false,
    completed_at: formatTimestamp(context.now()),
    error: reason,
  };
  await job.keeper.finish(changes).catch(() => {});
  const record = job.keeper.current();
  job.recorded();
  context.emit(
    activityEvent(context, "server:backup.fail", record, job.actor, { name: record.name, error: reason }),
  );
  return record;
}

/**
 * Streams a pack into `storage.put`, through `putLimiters`. When either side fails the other is stopped,
 * and the error that caused it is thrown, not the abort that followed: a pack torn down because the
 * storage gave up (a full disk) reports the storage's error.
 */
async function packInto(
  storage: StorageAdapter,
  key: string,
  root: string,
  options: PackOptions & { signal: AbortSignal },
  putLimiters: readonly RateLimiter[],
): Promise<PackResult> {
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  const handle = pack(root, { ...options, signal });
  const stopOther = (error: unknown): never => {
    stop.abort(error);
    throw error;
  };
  const body = putLimiters.length > 0 ? limitRate(handle.stream, putLimiters, signal) : handle.stream;
  const [packed, stored] = await Promise.allSettled([
    // A pack aborted by its reader's end needs no stopping of that reader: it is failing already.
    handle.result.catch((error: unknown) => (isAbort(error) ? Promise.reject(error) : stopOther(error))),
    storage.put(key, body, { signal }).catch(stopOther),
  ]);
  if (packed.status === "rejected" && !(stored.status === "rejected" && isAbort(packed.reason))) {
    throw packed.reason;
  }
  if (stored.status === "rejected") throw stored.reason;
  if (packed.status === "rejected") throw packed.reason;
  const [result, info] = [packed.value, stored.value];
  if (info.size !== result.bytes) {
    throw new StrongboxError(
      "STORAGE_ERROR",
      `The storage kept ${info.size} bytes of a ${result.bytes}-byte archive; the backup was not saved.`,
      { details: { key, stored: info.size, sent: result.bytes } },
    );
  }
  return result;
}

/** An error that only says the operation was stopped, not why. */
function isAbort(error: unknown): boolean {
  return isStrongboxError(error, "ABORTED") || (error as Error | undefined)?.name === "AbortError";
}
