/**
 * Wall-clock arithmetic in one IANA time zone, as Go's `time` package does it in a `time.Location`: restic
 * computes its buckets and `--keep-within` that way in the process's zone, and retention must match it.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** A calendar duration as restic writes it (`1y5m7d2h`): years, months and days move the wall clock. */
export interface CalendarDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

/** The wall clock of an instant in a zone; `month` 1-12, `hour` 0-23. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Reads instants as wall clocks in one time zone; build one per plan (formatters are costly to make). */
export interface Calendar {
  wallClock(ms: number): WallClock;
  /** `ms` moved back by `duration` as Go's `AddDate(-y, -m, -d).Add(-h)`: days are wall-clock days. */
  before(ms: number, duration: CalendarDuration): number;
}

/** The zone this process runs in, which restic uses too (the `TZ` variable). */
export function localTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** @throws RangeError when `timeZone` is not an IANA zone name this runtime knows. */
export function createCalendar(timeZone: string): Calendar {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  const wallClock = (ms: number): WallClock => {
    const fields: Record<string, number> = {};
    for (const part of format.formatToParts(ms)) fields[part.type] = Number(part.value);
    const { year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0 } = fields;
    return { year, month, day, hour, minute, second };
  };
  // How far the zone's wall clock is ahead of UTC at an instant (whole seconds: zones have no finer offsets).
  const offsetAt = (ms: number): number => {
    const whole = Math.floor(ms / 1000) * 1000;
    const w = wallClock(whole);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
  };
  // Go's time.Date: guess the offset at the wall time read as UTC, then correct it once near a transition.
  const fromWallClock = (wallAsUtc: number): number => {
    const guess = offsetAt(wallAsUtc);
    return wallAsUtc - offsetAt(wallAsUtc - guess);
  };
  return {
    wallClock,
    before(ms, { years, months, days, hours }) {
      const w = wallClock(ms);
      // Date.UTC normalises an overflowing month or day (31 March - 1 month = 3 March) the way Go's does.
      const moved = Date.UTC(w.year - years, w.month - 1 - months, w.day - days, w.hour, w.minute, w.second);
      return fromWallClock(moved + (ms - Math.floor(ms / 1000) * 1000)) - hours * HOUR_MS;
    },
  };
}

/** The ISO 8601 week (Monday first) a calendar date falls in, as `year * 100 + week` like Go's `ISOWeek`. */
export function isoWeek(year: number, month: number, day: number): number {
  const date = Date.UTC(year, month - 1, day);
  const mondayBased = (new Date(date).getUTCDay() + 6) % 7;
  // A week belongs to the year its Thursday is in.
  const thursday = date + (3 - mondayBased) * DAY_MS;
  const weekYear = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(weekYear, 0, 1)) / (7 * DAY_MS));
  return weekYear * 100 + week;
}
