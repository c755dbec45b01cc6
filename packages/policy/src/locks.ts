import { ALLOW, refuse } from "./decision.js";
import { checkPermission, PERMISSIONS } from "./permissions.js";
import { isFailed } from "./records.js";
import type { Actor, BackupRecord, Decision } from "./types.js";

/**
 * Refuses to delete a locked backup (BACKUP_LOCKED) that succeeded or still runs: unlock it first. A lock
 * protects an archive, so a failed backup (it has none) may be deleted locked, as the panel allows; else a
 * schedule creating locked backups that fail would fill the server with records nobody can remove.
 */
export function checkNotLocked(backup: BackupRecord): Decision {
  if (!backup.is_locked || isFailed(backup)) return ALLOW;
  return refuse("BACKUP_LOCKED", "Cannot delete a locked backup.", { backup: backup.uuid });
}

/**
 * Setting a lock (locking, unlocking, or creating a backup locked) needs `backup.delete`, since a lock
 * decides what may be deleted. No actor: allowed.
 */
export function checkLockPermission(
  actor: Actor | undefined,
  change: "lock" | "unlock" | "create-locked",
): Decision {
  const action = change === "create-locked" ? "create a locked backup" : `${change} a backup`;
  return checkPermission(actor, PERMISSIONS.delete, action);
}
