import { ALLOW, refuse } from "./decision.js";
import { isInProgress, isSuccessful } from "./records.js";
import type { BackupRecord, Decision, ServerState } from "./types.js";

/** Server states in which a restore is refused: the server is busy being set up, moved, or restored. */
export const RESTORE_BLOCKING_STATES: readonly ServerState[] = [
  "installing",
  "suspended",
  "transferring",
  "restoring_backup",
];

/** Refuses a restore (SERVER_STATE_CONFLICT, the seed's sentence) while the server is in a blocking state. */
export function checkServerState(state: ServerState): Decision {
  if (!RESTORE_BLOCKING_STATES.includes(state)) return ALLOW;
  return refuse(
    "SERVER_STATE_CONFLICT",
    "This server is not currently in a state that allows for a backup to be restored.",
    { state },
  );
}

/**
 * Only a successful backup has an archive to restore or download: refuses an in-progress or failed one
 * (BACKUP_NOT_SUCCESSFUL). `use` names the action in the message.
 */
export function checkSuccessful(backup: BackupRecord, use: "restore" | "download"): Decision {
  if (isSuccessful(backup)) return ALLOW;
  const details = { backup: backup.uuid, status: isInProgress(backup) ? "in_progress" : "failed" };
  const message = isInProgress(backup)
    ? `This backup is still in progress; wait for it to complete before you ${use} it.`
    : `This backup failed and has nothing to ${use}; choose a successful backup.`;
  return refuse("BACKUP_NOT_SUCCESSFUL", message, details);
}
