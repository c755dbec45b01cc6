import { activityEvent, type ManagerContext } from "./context.js";
import { archiveKey } from "./keys.js";
import { isAbandoned } from "./liveness.js";
import { finished, formatTimestamp } from "./records.js";
import type { BackupRecord } from "./types.js";

/** The `error` of a backup whose process stopped while it ran. */
export const INTERRUPTED = "The backup was interrupted: the process running it stopped before it finished.";

/**
 * Fails the abandoned in-progress records among `records` (see {@link isAbandoned}); records run by this
 * manager (`isRunningHere`) are never touched. Returns the records it failed.
 */
export async function recoverRecords(
  context: ManagerContext,
  records: readonly BackupRecord[],
  isRunningHere: (record: BackupRecord) => boolean,
): Promise<BackupRecord[]> {
  const rules = { host: context.host, now: context.now(), staleAfterMs: context.staleAfterMs };
  const abandoned = records.filter(
    (record) => record.completed_at === null && !isRunningHere(record) && isAbandoned(record, rules),
  );
  const recovered: BackupRecord[] = [];
  for (const record of abandoned) recovered.push(await failAbandoned(context, record));
  return recovered;
}

/** Recovers every server the catalog knows. */
export async function recoverAll(
  context: ManagerContext,
  isRunningHere: (record: BackupRecord) => boolean,
): Promise<BackupRecord[]> {
  const recovered: BackupRecord[] = [];
  for (const server of await context.catalog.servers()) {
    recovered.push(...(await recoverRecords(context, await context.catalog.list(server), isRunningHere)));
  }
  return recovered;
}

// The partial archive goes first: if this is interrupted too, the record is still in progress and
// abandoned, and the next recovery finishes the job.
async function failAbandoned(context: ManagerContext, record: BackupRecord): Promise<BackupRecord> {
  await context.storage.delete(archiveKey(record.server, record.uuid));
  const failed = finished(record, {
    checksum: null,
    bytes: 0,
    is_successful: false,
    completed_at: formatTimestamp(context.now()),
    error: INTERRUPTED,
  });
  await context.catalog.put(failed);
  context.emit(
    activityEvent(context, "server:backup.fail", failed, undefined, {
      name: failed.name,
      error: INTERRUPTED,
    }),
  );
  return failed;
}
