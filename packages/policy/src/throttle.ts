import { ALLOW, refuse } from "./decision.js";
import { formatDuration, plural } from "./duration.js";
import { createdAtMs, isInProgress, isSuccessful } from "./records.js";
import type { BackupRecord, Decision, ThrottleOptions } from "./types.js";

/**
 * Allows a creation while fewer than `limit` backups were created in the `periodMs` before `now`; a
 * creation stops counting exactly `periodMs` after it. The records are the state: in-progress and
 * successful backups count, failed ones do not (as in Pterodactyl, so a failure can be retried at once),
 * and a backup missing from `backups` does not count (`createPolicy` passes the deleted backups it
 * remembers, so deleting cannot get round it). A refusal (THROTTLED) says how long to wait.
 */
export function checkThrottle(
  backups: readonly BackupRecord[],
  now: Date,
  throttle: ThrottleOptions,
): Decision {
  const windowStart = now.getTime() - throttle.periodMs;
  const recent = backups
    .filter((backup) => isInProgress(backup) || isSuccessful(backup))
    .map(createdAtMs)
    .filter((time) => time > windowStart)
    .sort((a, b) => b - a);
  // The creation whose expiry brings the count below the limit is the limit-th newest.
  const blocking = recent[throttle.limit - 1];
  if (blocking === undefined) return ALLOW;
  const retryAfterSeconds = Math.max(1, Math.ceil((blocking + throttle.periodMs - now.getTime()) / 1000));
  return refuse(
    "THROTTLED",
    `Only ${plural(throttle.limit, "backup")} may be created every ${formatDuration(throttle.periodMs)}; ` +
      `try again in ${plural(retryAfterSeconds, "second")}.`,
    { limit: throttle.limit, periodMs: throttle.periodMs, retryAfterSeconds },
  );
}
