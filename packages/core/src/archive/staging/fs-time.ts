/** The earliest time a `Date` holds (-271821-04-20); older ones would be an invalid date. */
const EARLIEST_DATE_MS = -8.64e15;

/**
 * A tar mtime (seconds since the epoch, negative before 1970) as a time `fs.futimes`/`utimes`/`lutimes`
 * take. Node treats a negative number as "now", so times before 1970 go as a `Date` (millisecond
 * precision, rounded down as tar rounds, and no earlier than a `Date` can be: the filesystem clamps
 * further, as it does for GNU tar); later ones stay numbers, which keep sub-millisecond fractions.
 */
export function fsTime(seconds: number): number | Date {
  return seconds >= 0 ? seconds : new Date(Math.max(Math.floor(seconds * 1000), EARLIEST_DATE_MS));
}
