import { activityEvent, type ManagerContext } from "./context.js";
import { archiveKey } from "./keys.js";
import type { Actor, BackupRecord } from "./types.js";

/**
 * Deletes a backup: archive first, then its record, so a record never outlives nothing but a crash
 * in between (and deleting again then finishes the job). Emits `server:backup.delete`.
 */
export async function removeBackup(
  context: ManagerContext,
  record: BackupRecord,
  actor?: Actor,
): Promise<void> {
  await context.storage.delete(archiveKey(record.server, record.uuid));
  await context.catalog.delete(record.server, record.uuid);
  context.emit(
    activityEvent(context, "server:backup.delete", record, actor, {
      name: record.name,
      failed: !record.is_successful,
    }),
  );
}
