import type { CalendarDuration } from "./calendar.js";

const PATTERN = /^(?:([0-9]{1,6})y)?(?:([0-9]{1,6})m)?(?:([0-9]{1,6})d)?(?:([0-9]{1,6})h)?$/;

/**
 * Reads a duration as restic's `--keep-within` takes it: years, months, days and hours in that order,
 * each optional (`1y5m7d2h`, `7d`, `36h`). Minutes are not a unit (`m` is months, as in restic).
 * @throws RangeError naming `name` for anything else, or a duration of zero.
 */
export function parseCalendarDuration(name: string, text: string): CalendarDuration {
  const match = PATTERN.exec(text);
  const [years = 0, months = 0, days = 0, hours = 0] = (match?.slice(1) ?? []).map((n) => Number(n ?? 0));
  if (match === null || years + months + days + hours === 0) {
    throw new RangeError(
      `${name} must be a duration like 1y5m7d2h (years, months, days, hours; at least one above 0), got ${JSON.stringify(text)}.`,
    );
  }
  return { years, months, days, hours };
}

/** A duration the way restic prints it: `1y5m7d2h`, zero parts left out. */
export function formatCalendarDuration(duration: CalendarDuration): string {
  const parts = [
    [duration.years, "y"],
    [duration.months, "m"],
    [duration.days, "d"],
    [duration.hours, "h"],
  ] as const;
  return parts.map(([count, unit]) => (count > 0 ? `${count}${unit}` : "")).join("");
}
