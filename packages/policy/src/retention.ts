import { formatDuration, plural } from "./duration.js";
import { createdAtMs, datedOldestFirst, isInProgress, isSuccessful } from "./records.js";
import type { BackupRecord, PolicyInput, RetentionOptions } from "./types.js";

/** What retention would do now: the dry run. `remove` and `keep` keep the input's order. */
export interface RetentionPlan {
  remove: BackupRecord[];
  keep: BackupRecord[];
  /** Why each removed backup goes, by uuid: the first rule that removed it. */
  reasons: Record<string, string>;
}

/**
 * Applies {@link RetentionOptions} to a server's backups without deleting anything. Never removes a locked
 * or in-progress backup, one whose `created_at` does not parse, or the newest successful backup: age and
 * size caps must never leave a server with nothing to restore.
 */
export function retentionPlan(input: PolicyInput, options: RetentionOptions): RetentionPlan {
  const newestFirst = datedOldestFirst(input.backups).reverse();
  const newestSuccessful = newestFirst.find(isSuccessful);
  const removable = newestFirst.filter(
    (backup) => !isInProgress(backup) && !backup.is_locked && backup !== newestSuccessful,
  );
  // Keyed by record, not by uuid in a plain object: a uuid is data and could be `__proto__`.
  const reasons = new Map<BackupRecord, string>();
  const mark = (backup: BackupRecord, reason: string) => {
    if (!reasons.has(backup)) reasons.set(backup, reason);
  };

  if (options.keepLast !== undefined) {
    const beyond = new Set(beyondNewestSuccessful(newestFirst, options.keepLast));
    const reason = `beyond the newest ${plural(options.keepLast, "successful backup")}`;
    for (const backup of removable) if (beyond.has(backup)) mark(backup, reason);
  }
  if (options.maxAgeMs !== undefined) {
    const oldestAllowed = input.now.getTime() - options.maxAgeMs;
    const reason = `older than ${formatDuration(options.maxAgeMs)}`;
    for (const backup of removable) if (createdAtMs(backup) < oldestAllowed) mark(backup, reason);
  }
  if (options.maxTotalBytes !== undefined) {
    const reason = `over the total size cap of ${plural(options.maxTotalBytes, "byte")}`;
    let total = 0;
    for (const backup of input.backups) if (!reasons.has(backup)) total += backup.bytes;
    for (const backup of removable.toReversed()) {
      if (total <= options.maxTotalBytes) break;
      if (reasons.has(backup) || backup.bytes === 0) continue;
      mark(backup, reason);
      total -= backup.bytes;
    }
  }

  return {
    remove: input.backups.filter((backup) => reasons.has(backup)),
    keep: input.backups.filter((backup) => !reasons.has(backup)),
    reasons: Object.fromEntries([...reasons].map(([backup, reason]) => [backup.uuid, reason])),
  };
}

/** The backups (any status) after the `count`-th newest successful one, in `newestFirst` order. */
function beyondNewestSuccessful(newestFirst: readonly BackupRecord[], count: number): BackupRecord[] {
  let seen = 0;
  const index = newestFirst.findIndex((backup) => isSuccessful(backup) && ++seen === count);
  return index === -1 ? [] : newestFirst.slice(index + 1);
}
