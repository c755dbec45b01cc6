import type { Readable } from "node:stream";
import {
  archiveKey,
  type BackupManager,
  type BackupRecord,
  backupStatus,
  isStrongboxError,
  type StorageAdapter,
  StrongboxError,
} from "@strongbox/core";

/**
 * The record of a successful backup and a stream of its archive, for commands that read archives
 * (`verify`, `contents`); `action` completes "Only a successful backup can be ...".
 * @throws StrongboxError `NOT_FOUND` for an unknown backup or a missing archive, `BACKUP_NOT_SUCCESSFUL`
 * for a failed or running one.
 */
export async function openBackupArchive(
  manager: BackupManager,
  storage: StorageAdapter,
  backup: { server: string; uuid: string; action: string; signal: AbortSignal },
): Promise<{ record: BackupRecord; archive: Readable }> {
  const record = await manager.get(backup.server, backup.uuid);
  const status = backupStatus(record);
  if (status !== "successful") {
    const state = status === "failed" ? "failed" : "is still in progress";
    throw new StrongboxError(
      "BACKUP_NOT_SUCCESSFUL",
      `Only a successful backup can be ${backup.action}; backup ${record.uuid} ${state}.`,
      { details: { server: record.server, backup: record.uuid, status } },
    );
  }
  try {
    return {
      record,
      archive: await storage.get(archiveKey(record.server, record.uuid), { signal: backup.signal }),
    };
  } catch (error) {
    if (!isStrongboxError(error, "NOT_FOUND")) throw error;
    throw new StrongboxError(
      "NOT_FOUND",
      `The archive of backup ${record.uuid} is missing from the storage.`,
      {
        cause: error,
        details: { server: record.server, backup: record.uuid },
      },
    );
  }
}
