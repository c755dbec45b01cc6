import { Cron } from "croner";

/** When a schedule runs: the next run strictly after a time, or `null` when it never runs again. */
export interface RunTimes {
  nextRun(after: Date): Date | null;
  /** The next `count` runs after `after`, fewer when the schedule ends. */
  nextRuns(count: number, after: Date): Date[];
}

const MINUTE_MS = 60_000;
// The largest daylight saving shift in use is 2 hours (Antarctica/Troll); 3 covers it with room.
const SHIFT_WINDOW_MS = 3 * 60 * MINUTE_MS;

/**
 * Run times of a cron expression read in `timezone`, with the rule the docs give for the spring change:
 * wall times the change skips run once, at the first minute after the change (03:00 in New York for
 * `30 2 * * *`, 02:30 on Lord Howe Island for `15 2 * * *`). Croner alone would move each skipped time by
 * the shift instead (03:30), and run a skipped `*\/20 2 * * *` three times. Autumn's repeated hour runs
 * once, as croner does.
 */
export function cronRunTimes(cron: string, timezone: string): RunTimes {
  const zoned = new Cron(cron, { timezone });
  // The same expression on a clock without changes: wall times are matched in it as if they were UTC.
  const wall = new Cron(cron, { timezone: "Etc/UTC" });
  const offset = offsetReader(timezone);
  const matchesWall = (from: number, to: number): boolean => {
    const next = wall.nextRun(new Date(from - 1_000));
    return next !== null && next.getTime() < to;
  };

  const nextRun = (after: Date): Date | null => {
    let from = after;
    for (;;) {
      const candidate = zoned.nextRun(from);
      if (!candidate) return null;
      const gap = springGapBefore(candidate.getTime(), offset);
      if (gap && gap.at > after.getTime() && matchesWall(gap.wallFrom, gap.wallFrom + gap.shift)) {
        return new Date(gap.at);
      }
      const wallTime = candidate.getTime() + offset(candidate.getTime());
      if (matchesWall(wallTime, wallTime + 1_000)) return candidate;
      // A skipped time whose run, at the change, has already happened.
      from = candidate;
    }
  };

  return {
    nextRun,
    nextRuns(count, after) {
      const runs: Date[] = [];
      let run = nextRun(after);
      while (run && runs.length < count) {
        runs.push(run);
        run = nextRun(run);
      }
      return runs;
    },
  };
}

/** A spring change: the instant the clock jumped, the first skipped wall time (as UTC ms), and the shift. */
interface SpringGap {
  at: number;
  wallFrom: number;
  shift: number;
}

/** The spring change that `time` lies within one shift after, if any (where croner puts skipped times). */
function springGapBefore(time: number, offset: (time: number) => number): SpringGap | undefined {
  const before = offset(time - SHIFT_WINDOW_MS);
  const shift = offset(time) - before;
  if (shift <= 0) return undefined;
  // The change is on a whole minute: find the first minute with the new offset.
  let low = Math.floor((time - SHIFT_WINDOW_MS) / MINUTE_MS);
  let high = Math.floor(time / MINUTE_MS);
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (offset(middle * MINUTE_MS) === before) low = middle;
    else high = middle;
  }
  const at = high * MINUTE_MS;
  if (time >= at + shift) return undefined;
  return { at, wallFrom: at + before, shift };
}

/** Reads a zone's UTC offset in ms at an instant (whole seconds). */
function offsetReader(timezone: string): (time: number) => number {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  return (time) => {
    const parts = Object.fromEntries(format.formatToParts(new Date(time)).map((p) => [p.type, p.value]));
    const wall = Date.UTC(
      Number(parts.year),
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    );
    return wall - Math.floor(time / 1_000) * 1_000;
  };
}
