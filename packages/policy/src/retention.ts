import { createCalendar, localTimeZone } from "./calendar.js";
import { formatDuration, plural } from "./duration.js";
import { hasKeepRules, keepRulesReason, keptByRules } from "./keep-rules.js";
import { assertValidRetention } from "./options.js";
import { createdAtMs, datedNewestFirst, isInProgress, isSuccessful, lastVerified } from "./records.js";
import type { BackupRecord, PolicyInput, RetentionOptions } from "./types.js";

/** What retention does with one backup, and why. */
export interface RetentionDecision {
  backup: BackupRecord;
  action: "keep" | "remove";
  /**
   * `keep`: every reason it stays (`locked`, `in progress`, `newest successful`, `last verified`, `last`, `hourly`, `daily`,
   * `weekly`, `monthly`, `yearly`, `within 7d`, `undated`, or `no rule removes it`). `remove`: the one rule
   * that removes it.
   */
  reasons: string[];
}

/** What retention would do now: the dry run. `remove`, `keep` and `decisions` keep the input's order. */
export interface RetentionPlan {
  remove: BackupRecord[];
  keep: BackupRecord[];
  /** Why each removed backup goes, by uuid: the first rule that removed it. */
  reasons: Record<string, string>;
  /** Every backup with keep or remove and the rules that decided it. */
  decisions: RetentionDecision[];
  /** The IANA zone the calendar rules followed (`options.timeZone`, else the process's). */
  timeZone: string;
}

/**
 * Applies {@link RetentionOptions} to a server's backups without deleting anything: restic's keep rules
 * first, then the age and size caps. Never removes a locked or in-progress backup, one whose `created_at`
 * does not parse, the newest successful backup, or the last one that verified successfully: no rule must
 * leave a server with nothing to restore, nor with only copies no one has read back.
 * @throws RangeError on invalid options (a count below 1, a malformed `keepWithin`, an unknown `timeZone`).
 */
export function retentionPlan(input: PolicyInput, options: RetentionOptions): RetentionPlan {
  assertValidRetention(options);
  const newestFirst = datedNewestFirst(input.backups);
  const pins = pinned(input.backups, newestFirst.find(isSuccessful), lastVerified(input.backups));
  const removable = newestFirst.filter((backup) => !pins.has(backup));
  // Keyed by record, not by uuid in a plain object: a uuid is data and could be `__proto__`.
  const removed = new Map<BackupRecord, string>();
  const mark = (backup: BackupRecord, reason: string) => {
    if (!removed.has(backup) && !pins.has(backup)) removed.set(backup, reason);
  };

  const timeZone = options.timeZone ?? localTimeZone();
  let kept = new Map<BackupRecord, string[]>();
  if (hasKeepRules(options)) {
    const calendar = createCalendar(timeZone);
    const successful = newestFirst.filter(isSuccessful);
    kept = keptByRules(successful, options, calendar, input.now.getTime());
    const reason = keepRulesReason(options);
    // Failed backups take no bucket: those inside the history the rules keep stay, older ones go once
    // the rules cut that history (remove some successful backup).
    const cuts = successful.some((backup) => !kept.has(backup) && !pins.has(backup));
    const oldestKept = newestFirst.findLastIndex((backup) => kept.has(backup));
    newestFirst.forEach((backup, index) => {
      if (isSuccessful(backup) ? !kept.has(backup) : cuts && index > oldestKept) mark(backup, reason);
    });
  }
  if (options.maxAgeMs !== undefined) {
    const oldestAllowed = input.now.getTime() - options.maxAgeMs;
    const reason = `older than ${formatDuration(options.maxAgeMs)}`;
    for (const backup of removable) if (createdAtMs(backup) < oldestAllowed) mark(backup, reason);
  }
  if (options.maxTotalBytes !== undefined) {
    const reason = `over the total size cap of ${plural(options.maxTotalBytes, "byte")}`;
    let total = 0;
    for (const backup of input.backups) if (!removed.has(backup)) total += backup.bytes;
    for (const backup of removable.toReversed()) {
      if (total <= options.maxTotalBytes) break;
      if (removed.has(backup) || backup.bytes === 0) continue;
      mark(backup, reason);
      total -= backup.bytes;
    }
  }

  const decisions = input.backups.map((backup): RetentionDecision => {
    const reason = removed.get(backup);
    if (reason !== undefined) return { backup, action: "remove", reasons: [reason] };
    const reasons = [...(pins.get(backup) ?? []), ...(kept.get(backup) ?? [])];
    return { backup, action: "keep", reasons: reasons.length > 0 ? reasons : ["no rule removes it"] };
  });
  return {
    remove: input.backups.filter((backup) => removed.has(backup)),
    keep: input.backups.filter((backup) => !removed.has(backup)),
    reasons: Object.fromEntries([...removed].map(([backup, reason]) => [backup.uuid, reason])),
    decisions,
    timeZone,
  };
}

/** The backups no rule may remove, with why. */
function pinned(
  backups: readonly BackupRecord[],
  newestSuccessful: BackupRecord | undefined,
  newestVerified: BackupRecord | undefined,
) {
  const pins = new Map<BackupRecord, string[]>();
  for (const backup of backups) {
    const reasons: string[] = [];
    if (backup.is_locked) reasons.push("locked");
    if (isInProgress(backup)) reasons.push("in progress");
    if (Number.isNaN(createdAtMs(backup))) reasons.push("undated");
    if (backup === newestSuccessful) reasons.push("newest successful");
    if (backup === newestVerified) reasons.push("last verified");
    if (reasons.length > 0) pins.set(backup, reasons);
  }
  return pins;
}
