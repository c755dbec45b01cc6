import { ALLOW, refuse } from "./decision.js";
import { checkPermission, PERMISSIONS } from "./permissions.js";
import type { Actor, BackupRecord, Decision } from "./types.js";

/** Refuses to delete a locked backup (BACKUP_LOCKED), whatever its status: unlock it first. */
export function checkNotLocked(backup: BackupRecord): Decision {
  if (!backup.is_locked) return ALLOW;
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
