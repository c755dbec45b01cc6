import { limitReached } from "./limit.js";
import { datedOldestFirst, isSuccessful } from "./records.js";
import type { BackupRecord, CreateDecision } from "./types.js";

/**
 * The backups rotation may delete, oldest first: successful and unlocked only. In-progress and locked ones
 * are never touched, and failed ones stay for the person to read and delete (they still count toward the
 * limit).
 */
export function rotationCandidates(backups: readonly BackupRecord[]): BackupRecord[] {
  return datedOldestFirst(backups).filter((backup) => isSuccessful(backup) && !backup.is_locked);
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
