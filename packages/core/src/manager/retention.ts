import type { ManagerContext } from "./context.js";
import { sortNewestFirst } from "./records.js";
import { removeBackup } from "./remove.js";

/**
 * Deletes what `policy.retention` names after a backup ended, never a locked or unfinished backup
 * whatever the policy says. Runs in the server's record order, on records read once its turn came. A
 * failure here does not fail the backup: it becomes a `RETENTION_FAILED` warning.
 */
export async function applyRetention(context: ManagerContext, server: string, backup: string): Promise<void> {
  const { retention } = context.policy;
  if (!retention) return;
  try {
    await context.order.run(server, async () => {
      const backups = sortNewestFirst(await context.catalog.list(server));
      const doomed = new Set(retention({ server, now: context.now(), backups }));
      for (const record of backups) {
        if (doomed.has(record.uuid) && !record.is_locked && record.completed_at !== null) {
          await removeBackup(context, record);
        }
      }
    });
  } catch (error) {
    context.onWarning({
      server,
      backup,
      code: "RETENTION_FAILED",
      message: `Old backups could not be removed by the retention rules: ${(error as Error).message}`,
    });
  }
}
