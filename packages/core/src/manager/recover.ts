import { activityEvent, type ManagerContext } from "./context.js";
import { archiveKey } from "./keys.js";
import { isAbandoned } from "./liveness.js";
import { finished, formatTimestamp } from "./records.js";
import type { BackupRecord } from "./types.js";

/** The `error` of a backup whose process stopped while it ran. */
export const INTERRUPTED = "The backup was interrupted: the process running it stopped before it finished.";

/**
 * Fails the abandoned in-progress records among `records` (see {@link isAbandoned}); records run by this
 * manager (`isRunningHere`) are never touched. Returns the records it failed. The caller holds the
 * server's record order and read `records` under it.
 */
export async function recoverRecords(
  context: ManagerContext,
  records: readonly BackupRecord[],
  isRunningHere: (record: BackupRecord) => boolean,
): Promise<BackupRecord[]> {
  const abandoned = records.filter((record) => isLeft(context, record, isRunningHere));
  const recovered: BackupRecord[] = [];
  for (const record of abandoned) recovered.push(await failAbandoned(context, record));
  return recovered;
}

/**
 * Recovers every server the catalog knows. A server with an abandoned record is read again and recovered
 * in its record order, so a process that just took the record over is not failed by mistake.
 */
export async function recoverAll(
  context: ManagerContext,
  isRunningHere: (record: BackupRecord) => boolean,
): Promise<BackupRecord[]> {
  const recovered: BackupRecord[] = [];
  for (const server of await context.catalog.servers()) {
    const records = await context.catalog.list(server);
    if (!records.some((record) => isLeft(context, record, isRunningHere))) continue;
    recovered.push(
      ...(await context.order.run(server, async () =>
        recoverRecords(context, await context.catalog.list(server), isRunningHere),
      )),
    );
  }
  return recovered;
}

/**
 * `record` as it stands now, failed first when it was abandoned (checked again on a fresh read, in the
 * server's record order). `undefined` when it no longer exists.
 */
export async function recoverIfAbandoned(
  context: ManagerContext,
  record: BackupRecord,
  isRunningHere: (record: BackupRecord) => boolean,
): Promise<BackupRecord | undefined> {
  if (!isLeft(context, record, isRunningHere)) return record;
  return context.order.run(record.server, async () => {
    const latest = await context.catalog.get(record.server, record.uuid);
    if (!latest) return undefined;
    const [failed] = await recoverRecords(context, [latest], isRunningHere);
    return failed ?? latest;
  });
}

/** Whether `record` is in progress, not run here, and its owner is gone. */
function isLeft(
  context: ManagerContext,
  record: BackupRecord,
  isRunningHere: (record: BackupRecord) => boolean,
): boolean {
  const rules = { host: context.host, now: context.now(), staleAfterMs: context.staleAfterMs };
  return record.completed_at === null && !isRunningHere(record) && isAbandoned(record, rules);
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
