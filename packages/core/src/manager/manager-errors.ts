import { StrongboxError } from "../errors.js";
import { backupStatus } from "./records.js";
import type { BackupRecord } from "./types.js";

/** `NOT_FOUND`: the server has no such backup. */
export function backupNotFound(server: string, uuid: string): StrongboxError {
  return new StrongboxError("NOT_FOUND", `Server ${server} has no backup ${uuid}.`, {
    details: { server, backup: uuid },
  });
}

/** `BACKUP_NOT_SUCCESSFUL`: only successful backups can be restored, downloaded or verified. */
export function notSuccessful(
  record: BackupRecord,
  action: "restored" | "downloaded" | "verified" | "drilled",
): StrongboxError {
  const status = backupStatus(record);
  const state = status === "failed" ? "failed" : "is still in progress";
  return new StrongboxError(
    "BACKUP_NOT_SUCCESSFUL",
    `Only a successful backup can be ${action}; backup ${record.uuid} ${state}.`,
    {
      details: { server: record.server, backup: record.uuid, status },
    },
  );
}

/** `SERVER_STATE_CONFLICT` about a backup still running (here or in another process). */
export function stillRunning(record: BackupRecord, message: string): StrongboxError {
  return new StrongboxError("SERVER_STATE_CONFLICT", message, {
    details: { server: record.server, backup: record.uuid, ...(record.owner ? { owner: record.owner } : {}) },
  });
}
