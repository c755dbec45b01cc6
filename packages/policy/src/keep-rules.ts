import { type Calendar, isoWeek, type WallClock } from "./calendar.js";
import { formatCalendarDuration, parseCalendarDuration } from "./calendar-duration.js";
import { plural } from "./duration.js";
import { createdAtMs } from "./records.js";
import type { BackupRecord, RetentionOptions } from "./types.js";

type CountOption = "keepLast" | "keepHourly" | "keepDaily" | "keepWeekly" | "keepMonthly" | "keepYearly";

/**
 * restic's count rules: a backup is kept when its bucket differs from the last kept one's while the rule
 * has count left. `keepLast` puts each backup in its own bucket.
 */
const COUNT_RULES: readonly {
  option: CountOption;
  reason: string;
  bucket: (w: WallClock, nr: number) => number;
}[] = [
  { option: "keepLast", reason: "last", bucket: (_, nr) => nr },
  {
    option: "keepHourly",
    reason: "hourly",
    bucket: (w) => ((w.year * 100 + w.month) * 100 + w.day) * 100 + w.hour,
  },
  { option: "keepDaily", reason: "daily", bucket: (w) => (w.year * 100 + w.month) * 100 + w.day },
  { option: "keepWeekly", reason: "weekly", bucket: (w) => isoWeek(w.year, w.month, w.day) },
  { option: "keepMonthly", reason: "monthly", bucket: (w) => w.year * 100 + w.month },
  { option: "keepYearly", reason: "yearly", bucket: (w) => w.year },
];

/** True when any of restic's keep rules is configured. */
export function hasKeepRules(options: RetentionOptions): boolean {
  return options.keepWithin !== undefined || COUNT_RULES.some((rule) => options[rule.option] !== undefined);
}

/**
 * What restic's `forget` would keep of `newestFirst` (successful backups, newest first, all dated), with
 * the rules that keep each. Backups missing from the map go. This is restic 0.14's `ApplyPolicy`: the
 * newest backup of each bucket is kept while the rule has count left; `keepWithin` counts back from the
 * newest backup that is not in the future.
 */
export function keptByRules(
  newestFirst: readonly BackupRecord[],
  options: RetentionOptions,
  calendar: Calendar,
  now: number,
): Map<BackupRecord, string[]> {
  const rules = COUNT_RULES.flatMap(({ option, reason, bucket }) => {
    const count = options[option];
    return count === undefined ? [] : [{ left: count, last: Number.NaN, reason, bucket }];
  });
  const within =
    options.keepWithin === undefined ? undefined : withinRule(newestFirst, options.keepWithin, calendar, now);
  const kept = new Map<BackupRecord, string[]>();
  newestFirst.forEach((backup, nr) => {
    const created = createdAtMs(backup);
    const reasons: string[] = [];
    if (within !== undefined && created > within.after) reasons.push(within.reason);
    const wall = calendar.wallClock(created);
    for (const rule of rules) {
      if (rule.left === 0) continue;
      const bucket = rule.bucket(wall, nr);
      if (bucket === rule.last) continue;
      rule.last = bucket;
      rule.left--;
      reasons.push(rule.reason);
    }
    if (reasons.length > 0) kept.set(backup, reasons);
  });
  return kept;
}

/** Why the keep rules remove a backup: `beyond the newest 7 daily backups and the 1m before the newest backup`. */
export function keepRulesReason(options: RetentionOptions): string {
  const counts = COUNT_RULES.flatMap(({ option, reason }) => {
    const count = options[option];
    if (count === undefined) return [];
    return [option === "keepLast" ? plural(count, "successful backup") : plural(count, `${reason} backup`)];
  });
  const parts = counts.length > 0 ? [`the newest ${counts.join(", ")}`] : [];
  if (options.keepWithin !== undefined)
    parts.push(`the ${withinText(options.keepWithin)} before the newest backup`);
  return `beyond ${parts.join(" and ")}`;
}

/** `keepWithin` keeps what was created after `after` (epoch ms). */
function withinRule(newestFirst: readonly BackupRecord[], text: string, calendar: Calendar, now: number) {
  // A backup dated in the future (a wrong clock) must not push the window forward and drop everything.
  const latest = newestFirst.map(createdAtMs).find((created) => created < now);
  const duration = parseCalendarDuration("retention.keepWithin", text);
  const after = latest === undefined ? Number.NEGATIVE_INFINITY : calendar.before(latest, duration);
  return { after, reason: `within ${formatCalendarDuration(duration)}` };
}

function withinText(text: string): string {
  return formatCalendarDuration(parseCalendarDuration("retention.keepWithin", text));
}
