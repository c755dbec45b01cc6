import { extract } from "../archive/extract.js";
import { activityEvent, failureReason, type ManagerContext } from "./context.js";
import { archiveKey } from "./keys.js";
import { createProgressReporter } from "./progress.js";
import type { Actor, BackupRecord } from "./types.js";

/** One restore to run. */
export interface RestoreJob {
  record: BackupRecord;
  root: string;
  truncate: boolean;
  only: readonly string[] | undefined;
  actor: Actor | undefined;
  signal: AbortSignal;
}

/**
 * Streams the archive from storage into the server folder. `extract` verifies the checksum before it
 * changes anything in the folder (it stages first), so a corrupt archive leaves the folder as it was.
 * Emits `restore-complete` or `restore-fail`, and rethrows the failure.
 */
export async function runRestore(context: ManagerContext, job: RestoreJob): Promise<void> {
  const { record, actor, signal } = job;
  const progress = createProgressReporter(context.onProgress, {
    server: record.server,
    backup: record.uuid,
    operation: "restore",
  });
  try {
    const source = await context.storage.get(archiveKey(record.server, record.uuid), { signal });
    try {
      await extract(source, job.root, {
        mode: job.truncate ? "truncate" : "merge",
        expectedChecksum: record.checksum ?? undefined,
        only: job.only,
        signal,
        totalBytes: record.bytes,
        onProgress: (counters) => progress.update(counters),
      });
    } finally {
      source.destroy();
    }
    progress.flush();
    context.emit(
      activityEvent(context, "server:backup.restore-complete", record, actor, { name: record.name }),
    );
  } catch (error) {
    const reason = failureReason(error, signal);
    context.emit(
      activityEvent(context, "server:backup.restore-fail", record, actor, {
        name: record.name,
        error: reason,
      }),
    );
    throw error;
  }
}
