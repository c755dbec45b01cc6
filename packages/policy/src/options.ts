import { createCalendar } from "./calendar.js";
import { parseCalendarDuration } from "./calendar-duration.js";
import type { PolicyOptions, RetentionOptions } from "./types.js";

const KEEP_COUNTS = [
  "keepLast",
  "keepHourly",
  "keepDaily",
  "keepWeekly",
  "keepMonthly",
  "keepYearly",
] as const;

/** Throws a RangeError naming the option when `value` is not an integer of at least `min`. */
function assertInteger(name: string, value: number | undefined, min: number): void {
  if (value === undefined || (Number.isSafeInteger(value) && value >= min)) return;
  throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}.`);
}

/** Throws a RangeError naming the option when `value` is not a finite number above 0. */
function assertPositive(name: string, value: number | undefined): void {
  if (value === undefined || (Number.isFinite(value) && value > 0)) return;
  throw new RangeError(`${name} must be a number above 0, got ${value}.`);
}

/**
 * Checks a server's backup limit, whether from a number or from the per-server function, so a
 * misconfiguration fails loudly instead of allowing or refusing everything.
 */
export function assertValidLimit(maxBackups: number | undefined): void {
  assertInteger("maxBackups", maxBackups, 0);
}

/**
 * Rejects options that would make a rule meaningless (negative limits, empty windows). Retention caps must
 * be at least 1: a 0 would delete every unlocked backup, which is never what a typo meant.
 */
export function assertValidOptions(options: PolicyOptions): void {
  if (typeof options.maxBackups !== "function") assertValidLimit(options.maxBackups);
  if (options.throttle !== undefined) {
    assertInteger("throttle.limit", options.throttle.limit, 1);
    assertPositive("throttle.periodMs", options.throttle.periodMs);
  }
  if (options.retention !== undefined) assertValidRetention(options.retention);
}

/**
 * Checks retention options: keep counts and caps of at least 1, `keepWithin` in restic's form, a
 * `timeZone` this runtime knows. `createPolicy` and `retentionPlan` call it; a CLI or form can check input
 * up front.
 * @throws RangeError naming the option.
 */
export function assertValidRetention(retention: RetentionOptions): void {
  for (const option of KEEP_COUNTS) assertInteger(`retention.${option}`, retention[option], 1);
  if (retention.keepWithin !== undefined) parseCalendarDuration("retention.keepWithin", retention.keepWithin);
  if (retention.timeZone !== undefined) assertTimeZone(retention.timeZone);
  assertPositive("retention.maxAgeMs", retention.maxAgeMs);
  assertInteger("retention.maxTotalBytes", retention.maxTotalBytes, 1);
}

function assertTimeZone(timeZone: string): void {
  try {
    createCalendar(timeZone);
  } catch {
    throw new RangeError(
      `retention.timeZone must be an IANA time zone name like Europe/Berlin, got ${JSON.stringify(timeZone)}.`,
    );
  }
}
