import type { Progress } from "@strongbox/core";

/** Counters of one operation as the CLI shows them: core's {@link Progress}, plus a total of items. */
export interface ProgressSample extends Progress {
  /** Items (backups, for a migration) there are in all, when known. */
  totalFiles?: number;
}

/** What a display shows of an operation at one moment. */
export interface ProgressView {
  bytes: number;
  totalBytes: number | undefined;
  files: number;
  totalFiles: number | undefined;
  /** Share done, 0 to 1; `undefined` without a total. */
  ratio: number | undefined;
  /**
   * Bytes per second, smoothed (the average over the whole run once it is done); `undefined` until two
   * samples tell it.
   */
  rate: number | undefined;
  /** Seconds left at the current rate; `undefined` without a total or a rate yet. */
  eta: number | undefined;
  /** Seconds since the operation started. */
  elapsed: number;
}

/**
 * Time constant of the rate's smoothing: a change of speed shows in about this long, and one slow
 * second (a big file's open, a storage's pause) barely moves the ETA.
 */
export const RATE_SMOOTHING_MS = 2_000;

/**
 * Turns the samples of one operation into views: a rate smoothed exponentially over time (weighting
 * each interval by its length, so irregular samples count fairly) and the ETA it gives. The rate starts
 * from the first sample, not from the start, whose setup (opening a storage, starting workers) would
 * make the first ETAs far too long. The clock is read when the meter is made (the operation's start)
 * and at each sample; tests pass a fake one.
 */
export function createProgressMeter(now: () => number = Date.now) {
  const start = now();
  let lastAt: number | undefined;
  let lastBytes = 0;
  let rate: number | undefined;
  return {
    /** The view of `sample`, taken now. */
    sample(sample: ProgressSample): ProgressView {
      const at = now();
      const interval = at - (lastAt ?? at);
      if (lastAt === undefined) {
        lastAt = at;
        lastBytes = sample.bytes;
      } else if (interval > 0) {
        const instant = (Math.max(sample.bytes - lastBytes, 0) * 1000) / interval;
        const weight = rate === undefined ? 1 : 1 - Math.exp(-interval / RATE_SMOOTHING_MS);
        rate = (rate ?? 0) + weight * (instant - (rate ?? 0));
        lastAt = at;
        lastBytes = sample.bytes;
      }
      const view = baseView(sample, at - start, rate);
      const left = view.totalBytes === undefined ? undefined : view.totalBytes - sample.bytes;
      const eta = left !== undefined && rate !== undefined && rate > 0 ? Math.max(left, 0) / rate : undefined;
      return { ...view, eta };
    },
    /** The view of the finished operation: all done (what it went through is now its total), at its average rate. */
    finish(sample: ProgressSample): ProgressView {
      const elapsed = now() - start;
      const rate = elapsed > 0 ? (sample.bytes * 1000) / elapsed : undefined;
      const view = baseView(sample, elapsed, rate);
      return { ...view, totalBytes: view.totalBytes ?? sample.bytes, ratio: 1, eta: 0 };
    },
  };
}

/** A usable total: a positive number (an empty tree's total of 0 says nothing about the share done). */
function knownTotal(total: number | undefined): number | undefined {
  return total !== undefined && total > 0 ? total : undefined;
}

function baseView(
  sample: ProgressSample,
  elapsedMs: number,
  rate: number | undefined,
): Omit<ProgressView, "eta"> {
  const totalBytes = knownTotal(sample.totalBytes);
  return {
    bytes: sample.bytes,
    totalBytes,
    files: sample.files,
    totalFiles: knownTotal(sample.totalFiles),
    ratio: totalBytes === undefined ? undefined : Math.min(sample.bytes / totalBytes, 1),
    rate,
    elapsed: elapsedMs / 1000,
  };
}
