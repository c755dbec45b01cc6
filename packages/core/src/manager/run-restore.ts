import { extract } from "../archive/extract/extract.js";
import { resolvePackInput } from "../archive/pack/pack-input.js";
import { isStrongboxError, throwIfAborted } from "../errors.js";
import { parseIgnoreRules } from "../ignore.js";
import { freeSpace } from "../io/disk-space.js";
import type { StorageAdapter } from "../storage/types.js";
import { activityEvent, failureReason, type ManagerContext } from "./context.js";
import { runAfterHook, runHook } from "./hooks.js";
import { archiveKey } from "./keys.js";
import { createProgressReporter } from "./progress.js";
import { limitersFor, type RateLimit } from "./rate-limits.js";
import { primaryDamage } from "./replica-fallback.js";
import { checkRestoreSpace, explainFullDisk, recordedRestoreSize, scannedRestoreSize } from "./space.js";
import type { Actor, BackupRecord, ReplicaSource } from "./types.js";

/** One restore to run. */
export interface RestoreJob {
  record: BackupRecord;
  root: string;
  truncate: boolean;
  only: readonly string[] | undefined;
  actor: Actor | undefined;
  signal: AbortSignal;
  /** With `truncate`, keep the folder's files that the backup's ignore rules match. */
  keepIgnored: boolean;
  rateLimit: RateLimit | undefined;
  /** Told once the outcome is known, before the after-hook. */
  recorded: () => void;
  /** Whether the free space was already checked (from the sizes in the record). */
  spaceChecked: boolean;
}

/**
 * Checks the space (reading the archive's entries when the record does not give its size), runs the
 * before-hook, then streams the archive from storage into the server folder (from the replica when the
 * primary copy is missing or damaged). `extract` verifies the checksum before it changes anything in the
 * folder (it stages first), so a corrupt archive leaves the folder as it was. Emits `restore-complete` or
 * `restore-fail`, runs the after-hook whatever happened once the before-hook was reached, and rethrows
 * the failure.
 */
export async function runRestore(context: ManagerContext, job: RestoreJob): Promise<void> {
  const { record, actor, signal } = job;
  let hooked = false;
  let failure: Error | undefined;
  try {
    // Cancelled while queued: fail at once, before the hooks.
    throwIfAborted(signal, "The restore");
    if (!job.spaceChecked && job.only === undefined) {
      await checkRestoreSpace(job.root, record, await scannedRestoreSize(context, record, signal));
    }
    hooked = true;
    const before = { server: record.server, record: { ...record } };
    await runHook("beforeRestore", context.hooks.beforeRestore, before, context.hookTimeoutMs, signal);
    const source = await extractBackup(context, job);
    job.recorded();
    context.emit(
      activityEvent(context, "server:backup.restore-complete", record, actor, {
        name: record.name,
        ...source,
      }),
    );
  } catch (caught) {
    const error = await explainFullDisk(
      caught,
      `restoring backup "${record.name}"`,
      `the volume of ${job.root}`,
      recordedRestoreSize(record),
      () => freeSpace(job.root),
    );
    failure = error instanceof Error ? error : new Error(String(error));
    const reason = failureReason(error, signal);
    job.recorded();
    context.emit(
      activityEvent(context, "server:backup.restore-fail", record, actor, {
        name: record.name,
        error: reason,
      }),
    );
  }
  if (hooked) await runAfterHook(context, "afterRestore", context.hooks.afterRestore, record, failure);
  if (failure) throw failure;
}

/**
 * Extracts the backup from the primary storage, or from the replica when the primary copy is missing or
 * damaged (`extract` verifies before it changes the folder, so a failed first try left it as it was).
 * Resolves with where it was read from when that was the replica; a failure of both throws the primary's.
 */
async function extractBackup(context: ManagerContext, job: RestoreJob): Promise<ReplicaSource> {
  const { record, signal } = job;
  const progress = createProgressReporter(context.onProgress, {
    server: record.server,
    backup: record.uuid,
    operation: "restore",
  });
  const keep = job.truncate && job.keepIgnored ? await keptRules(job.root, record) : undefined;
  const extractFrom = async (storage: StorageAdapter) => {
    const source = await storage.get(archiveKey(record.server, record.uuid), { signal });
    try {
      await extract(source, job.root, {
        mode: job.truncate ? "truncate" : "merge",
        expectedChecksum: record.checksum ?? undefined,
        only: job.only,
        workers: context.workers,
        signal,
        totalBytes: record.bytes,
        onProgress: (counters) => progress.update(counters),
        writeLimiters: limitersFor("write", context.limiters, job.rateLimit),
        ...(keep ? { keep } : {}),
      });
    } finally {
      source.destroy();
    }
    progress.flush();
  };
  try {
    await extractFrom(context.storage);
    return {};
  } catch (error) {
    const { replica } = context;
    const reason = replica && (await primaryDamage(context, record, error, signal));
    if (!replica || !reason) throw error;
    await extractFrom(replica.storage).catch(() => Promise.reject(error));
    return { source: "replica", reason };
  }
}

/**
 * The rules a backup of the folder would leave out: the backup's `ignored_files` after the folder's own
 * ignore file, as pack merges them. `undefined` when there are none, or no folder yet to keep files of.
 */
async function keptRules(root: string, record: BackupRecord): Promise<string | undefined> {
  try {
    const { ignoreRules } = await resolvePackInput(root, { ignore: record.ignored_files }, []);
    return parseIgnoreRules(ignoreRules).length > 0 ? ignoreRules : undefined;
  } catch (error) {
    if (isStrongboxError(error, "NOT_FOUND")) return undefined;
    throw error;
  }
}
