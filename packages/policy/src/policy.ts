import { ALLOW, firstRefusal } from "./decision.js";
import { checkLimit } from "./limit.js";
import { checkLockPermission, checkNotLocked } from "./locks.js";
import { assertValidLimit, assertValidOptions } from "./options.js";
import { checkPermission, PERMISSIONS } from "./permissions.js";
import { rememberRecentBackups } from "./recent-backups.js";
import { checkServerState, checkSuccessful } from "./restore-rules.js";
import { retentionPlan } from "./retention.js";
import { rotateToFit } from "./rotation.js";
import { checkThrottle } from "./throttle.js";
import type { BackupPolicy, CreateDecision, PolicyInput, PolicyOptions } from "./types.js";

/**
 * Builds the policy the manager consults from limits, throttle, locks, server-state and retention rules.
 * Checks run in this order, the first refusal winning: permissions, throttle, then the limit (rotation for
 * scheduled backups). Throws a RangeError on invalid options.
 *
 * With a throttle, the policy remembers in memory the backups it is shown, so a creation keeps counting for
 * its whole period even once its backup is deleted: deleting cannot get round the throttle.
 *
 * @example
 * ```ts
 * const policy = createPolicy({ maxBackups: 3, throttle: { limit: 2, periodMs: 600_000 } });
 * ```
 */
export function createPolicy(options: PolicyOptions = {}): BackupPolicy {
  assertValidOptions(options);
  const { maxBackups, throttle, retention } = options;
  const rotateScheduled = options.rotateScheduled ?? true;
  const requirePermissions = options.requirePermissions ?? true;
  const limitFor = (server: string): number | undefined => {
    if (typeof maxBackups !== "function") return maxBackups;
    const limit = maxBackups(server);
    assertValidLimit(limit);
    return limit;
  };
  // Permission rules see no actor when switched off, which is how they allow.
  const actorOf = (input: PolicyInput) => (requirePermissions ? input.actor : undefined);
  // Backups leave through delete, rotation (asked in create) and retention: noting what those questions
  // show keeps a deleted backup counting toward the throttle.
  const recent = throttle && rememberRecentBackups(throttle.periodMs);

  return {
    create(input): CreateDecision {
      const actor = actorOf(input);
      const created = recent ? recent.note(input) : input.backups;
      const refusal = firstRefusal(
        () => checkPermission(actor, PERMISSIONS.create, "create a backup"),
        () => (input.locked ? checkLockPermission(actor, "create-locked") : ALLOW),
        () => (throttle ? checkThrottle(created, input.now, throttle) : ALLOW),
      );
      if (!refusal.ok) return refusal;
      const limit = limitFor(input.server);
      if (limit !== undefined && input.scheduled && rotateScheduled) return rotateToFit(input.backups, limit);
      return checkLimit(input.backups, limit);
    },
    delete(input) {
      recent?.note(input);
      return firstRefusal(
        () => checkPermission(actorOf(input), PERMISSIONS.delete, "delete a backup"),
        () => checkNotLocked(input.backup),
      );
    },
    setLocked: (input) => checkLockPermission(actorOf(input), input.locked ? "lock" : "unlock"),
    restore: (input) =>
      firstRefusal(
        () => checkPermission(actorOf(input), PERMISSIONS.restore, "restore a backup"),
        () => checkServerState(input.serverState),
        () => checkSuccessful(input.backup, "restore"),
      ),
    download: (input) =>
      firstRefusal(
        () => checkPermission(actorOf(input), PERMISSIONS.download, "download a backup"),
        () => checkSuccessful(input.backup, "download"),
      ),
    retention(input) {
      recent?.note(input);
      return retention ? retentionPlan(input, retention).remove.map((backup) => backup.uuid) : [];
    },
  };
}
