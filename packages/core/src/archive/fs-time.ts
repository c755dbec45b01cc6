/**
 * A tar mtime (seconds since the epoch, negative before 1970) as a time `fs.futimes`/`utimes`/`lutimes`
 * take. Node treats a negative number as "now", so times before 1970 go as a `Date` (millisecond
 * precision, rounded down as tar rounds); later ones stay numbers, which keep sub-millisecond fractions.
 */
export function fsTime(seconds: number): number | Date {
  return seconds >= 0 ? seconds : new Date(Math.floor(seconds * 1000));
}
