import { throwIfAborted } from "../errors.js";
import type { ForgetOptions, ForgetResult } from "./api.js";
import { enforce, type ManagerContext } from "./context.js";
import { sortNewestFirst } from "./records.js";
import { removeBackup } from "./remove.js";
import type { BackupRecord } from "./types.js";

/**
 * Removes the backups a retention rule names, in the server's record order on records read once its
 * turn came. Never removes a locked or unfinished backup, or one this manager is using (`inUse`: a
 * backup's wrap-up, a restore), whatever the rule says: those are returned as spared. With an actor, the policy's `delete` is asked
 * for every backup first, and a refusal removes nothing.
 */
export async function forgetBackups(
  context: ManagerContext,
  server: string,
  options: ForgetOptions = {},
  inUse: (record: BackupRecord) => boolean = context.inUse,
): Promise<ForgetResult> {
  const retention = options.retention ?? context.policy.retention?.bind(context.policy);
  if (!retention) return { removed: [], spared: [] };
  const { actor, dryRun = false, signal } = options;
  return context.order.run(server, async () => {
    const backups = sortNewestFirst(await context.catalog.list(server));
    const now = context.now();
    const named = new Set(retention({ server, actor, now, backups }));
    const removed: BackupRecord[] = [];
    const spared: ForgetResult["spared"] = [];
    for (const backup of backups) {
      if (!named.has(backup.uuid)) continue;
      const reason = sparedBecause(backup, inUse);
      if (reason) spared.push({ backup, reason });
      else removed.push(backup);
    }
    if (actor) {
      for (const backup of removed) enforce(context.policy.delete?.({ server, actor, now, backups, backup }));
    }
    if (dryRun) return { removed, spared };
    for (const backup of removed) {
      throwIfAborted(signal, "Forgetting backups");
      await removeBackup(context, backup, actor);
    }
    return { removed, spared };
  });
}

/** Why a backup the rule names stays, or `undefined` when it can go. */
function sparedBecause(
  backup: BackupRecord,
  inUse: (record: BackupRecord) => boolean,
): ForgetResult["spared"][number]["reason"] | undefined {
  if (backup.is_locked) return "locked";
  if (backup.completed_at === null) return "in progress";
  if (inUse(backup)) return "in use";
  return undefined;
}

/**
 * Applies the policy's retention in the wrap-up of backup `backup` (see {@link forgetBackups}); that
 * backup itself may go, failed ones included. A failure here does not fail the backup: it becomes a
 * `RETENTION_FAILED` warning.
 */
export async function applyRetention(context: ManagerContext, server: string, backup: string): Promise<void> {
  try {
    await forgetBackups(context, server, {}, (record) => record.uuid !== backup && context.inUse(record));
  } catch (error) {
    context.onWarning({
      server,
      backup,
      code: "RETENTION_FAILED",
      message: `Old backups could not be removed by the retention rules: ${(error as Error).message}`,
    });
  }
}
