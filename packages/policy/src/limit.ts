import { ALLOW, refuse } from "./decision.js";
import type { BackupRecord, Decision, Refusal } from "./types.js";

/** The seed API's refusal when a server holds as many backups as it may (`TooManyBackupsException`). */
export function limitReached(details: Record<string, unknown>): Refusal {
  return refuse("BACKUP_LIMIT_REACHED", "This server has reached its backup limit.", details);
}

/**
 * Allows a new backup while the server holds fewer than `maxBackups`. Every record counts, failed and in
 * progress included, so 0 allows none and undefined allows any number.
 */
export function checkLimit(backups: readonly BackupRecord[], maxBackups: number | undefined): Decision {
  if (maxBackups === undefined || backups.length < maxBackups) return ALLOW;
  return limitReached({ limit: maxBackups, count: backups.length });
}
