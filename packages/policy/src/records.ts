import type { BackupRecord } from "./types.js";

/** True while the backup runs (it has no completion time yet). */
export function isInProgress(backup: BackupRecord): boolean {
  return backup.completed_at === null;
}

/** True when the backup completed and succeeded: the only kind that can be restored or downloaded. */
export function isSuccessful(backup: BackupRecord): boolean {
  return backup.completed_at !== null && backup.is_successful;
}

/** True when the backup completed without success: it holds no archive. */
export function isFailed(backup: BackupRecord): boolean {
  return backup.completed_at !== null && !backup.is_successful;
}

/**
 * The newest backup whose archive was last read back and matched its record (`verification: "passed"`):
 * the one copy known good, which neither rotation nor retention may remove.
 */
export function lastVerified(backups: readonly BackupRecord[]): BackupRecord | undefined {
  return datedNewestFirst(backups).find((backup) => isSuccessful(backup) && backup.verification === "passed");
}

/** The backup's creation time in epoch milliseconds, or NaN when `created_at` does not parse. */
export function createdAtMs(backup: BackupRecord): number {
  return Date.parse(backup.created_at);
}

/**
 * The backups that carry a readable creation time, oldest first (ties keep their input order). Rules that
 * delete skip an undatable backup rather than guess its age.
 */
export function datedOldestFirst(backups: readonly BackupRecord[]): BackupRecord[] {
  return datedSorted(backups, 1);
}

/** Like {@link datedOldestFirst}, newest first; ties still keep their input order (as restic's stable sort). */
export function datedNewestFirst(backups: readonly BackupRecord[]): BackupRecord[] {
  return datedSorted(backups, -1);
}

function datedSorted(backups: readonly BackupRecord[], direction: 1 | -1): BackupRecord[] {
  return backups
    .map((backup) => ({ backup, time: createdAtMs(backup) }))
    .filter((entry) => !Number.isNaN(entry.time))
    .sort((a, b) => direction * (a.time - b.time))
    .map((entry) => entry.backup);
}
