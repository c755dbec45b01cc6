const UNITS = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
] as const;

/** Counts a noun: `1 backup`, `2 backups`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** A duration in the largest unit that expresses it exactly: `10 minutes`, `90 seconds`, `1500 milliseconds`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of UNITS) {
    if (ms >= size && ms % size === 0) return plural(ms / size, unit);
  }
  return plural(ms, "millisecond");
}
