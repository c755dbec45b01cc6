import type { BackupRecord } from "./types.js";

/** What decides whether an in-progress record's owner is still at work. */
export interface LivenessRules {
  /** This host's name, compared with the owner's. */
  host: string;
  now: Date;
  /** A refresh older than this means the owner stopped (on any host). */
  staleAfterMs: number;
}

/**
 * True when an in-progress record (or a server's record lock) was left by an owner that is gone: its
 * process no longer exists on this host, or it has not refreshed it for `staleAfterMs` (the rule restic
 * applies to its locks). One without an owner is judged by its age.
 */
export function isAbandoned(
  record: Pick<BackupRecord, "owner" | "created_at">,
  rules: LivenessRules,
): boolean {
  const owner = record.owner;
  const refreshedAt = Date.parse(owner?.heartbeat_at ?? record.created_at);
  if (!Number.isFinite(refreshedAt) || rules.now.getTime() - refreshedAt > rules.staleAfterMs) return true;
  return owner !== undefined && owner.host === rules.host && !isProcessAlive(owner.pid);
}

/** Whether a process with this pid exists here (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
