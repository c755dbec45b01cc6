import { limitReached } from "./limit.js";
import { datedOldestFirst, isFailed, isSuccessful, lastVerified } from "./records.js";
import type { BackupRecord, CreateDecision } from "./types.js";

/**
 * The backups rotation may delete, in the order it deletes them: failed backups first, locked or not,
 * oldest first (they hold no archive, so nothing restorable is lost; a lock protects an archive), then
 * unlocked successful ones, oldest first. In-progress and locked successful backups are never touched,
 * nor the last backup that verified successfully ({@link lastVerified}).
 * Taking failed ones first matters: a scheduled backup that keeps failing would otherwise eat one good
 * backup per run.
 */
export function rotationCandidates(backups: readonly BackupRecord[]): BackupRecord[] {
  const dated = datedOldestFirst(backups);
  const verified = lastVerified(backups);
  const rotatable = (backup: BackupRecord) =>
    isSuccessful(backup) && !backup.is_locked && backup !== verified;
  return [...dated.filter(isFailed), ...dated.filter(rotatable)];
}

/**
 * Lets a scheduled backup in at the limit by deleting just enough of the oldest {@link rotationCandidates}
 * to leave one free slot (more than one when the limit was lowered below the current count). Refuses with
 * BACKUP_LIMIT_REACHED when the candidates are too few, or when the limit is 0.
 */
export function rotateToFit(backups: readonly BackupRecord[], maxBackups: number): CreateDecision {
  const needed = backups.length - maxBackups + 1;
  if (needed <= 0) return { ok: true };
  const candidates = rotationCandidates(backups);
  // At limit 0 `needed` exceeds the record count, so no rotation can ever make room.
  if (candidates.length < needed) {
    return limitReached({ limit: maxBackups, count: backups.length, rotatable: candidates.length });
  }
  return { ok: true, rotate: candidates.slice(0, needed).map((backup) => backup.uuid) };
}
