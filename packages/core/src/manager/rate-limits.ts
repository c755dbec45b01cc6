import { StrongboxError } from "../errors.js";
import { createRateLimiter, type RateLimiter } from "../io/rate-limit.js";
import { storesOnThisMachine } from "../storage/on-this-machine.js";
import type { StorageAdapter } from "../storage/types.js";

/**
 * I/O limits in bytes per second, by direction; a direction left out, 0 or `undefined` is unlimited.
 * Which of `write` and `upload` an archive counts against depends on the storage: one that reports
 * `freeSpace` keeps archives on this machine's disks (`write`), any other sends them away (`upload`).
 */
export interface RateLimits {
  /** Reading a backup's source (the tar stream, before compression), and archives read back to verify them. */
  read?: number;
  /** Writing archives to a local storage, and writing restored files (uncompressed bytes). */
  write?: number;
  /** Sending archives to a remote storage (and into `to` during a migration). */
  upload?: number;
}

/** One operation's limit: bytes per second in every direction, or per direction. */
export type RateLimit = number | RateLimits;

/** The three directions of {@link RateLimits}. */
export type RateDirection = keyof RateLimits;

const DIRECTIONS: readonly RateDirection[] = ["read", "write", "upload"];

/** One limiter per direction, shared by every operation of a manager; their rates change at run time. */
export interface SharedLimiters {
  readonly read: RateLimiter;
  readonly write: RateLimiter;
  readonly upload: RateLimiter;
  /** Replaces every rate; a direction left out becomes unlimited. */
  set(limits: RateLimits): void;
  /** The rates in force (unlimited directions left out). */
  current(): RateLimits;
}

/** Creates the shared limiters of a manager, checking `limits` first. */
export function createSharedLimiters(limits: RateLimits = {}): SharedLimiters {
  const checked = checkRateLimits(limits);
  const shared = {
    read: createRateLimiter(checked.read),
    write: createRateLimiter(checked.write),
    upload: createRateLimiter(checked.upload),
    set(next: RateLimits) {
      const rates = checkRateLimits(next);
      for (const direction of DIRECTIONS) shared[direction].setRate(rates[direction]);
    },
    current() {
      const rates: RateLimits = {};
      for (const direction of DIRECTIONS) {
        const rate = shared[direction].bytesPerSecond;
        if (rate !== undefined) rates[direction] = rate;
      }
      return rates;
    },
  };
  return shared;
}

/**
 * The limiters one operation's bytes pass through in `direction`: the manager's shared one (always, so
 * a rate set while the operation runs applies to it at once; an unlimited limiter costs nothing) and the
 * operation's own, when it sets one.
 */
export function limitersFor(
  direction: RateDirection,
  shared: SharedLimiters | undefined,
  own: RateLimit | undefined,
): RateLimiter[] {
  const limiters = shared ? [shared[direction]] : [];
  const rate = typeof own === "number" ? own : own?.[direction];
  if (rate) limiters.push(createRateLimiter(rate));
  return limiters;
}

/** The direction archives take into `storage`: `write` for one on this machine's disks, else `upload`. */
export function archiveDirection(storage: StorageAdapter): "write" | "upload" {
  return storesOnThisMachine(storage) ? "write" : "upload";
}

/** Throws `INVALID_INPUT` unless `limit` is absent, a rate, or an object of rates. */
export function checkRateLimit(limit: RateLimit | undefined): void {
  if (limit === undefined || typeof limit === "number") checkRate("rateLimit", limit);
  else checkRateLimits(limit);
}

function checkRateLimits(limits: RateLimits): RateLimits {
  if (typeof limits !== "object" || limits === null) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "Rate limits must be an object such as { read: 52428800 } (bytes per second).",
    );
  }
  for (const direction of DIRECTIONS) checkRate(direction, limits[direction]);
  return limits;
}

function checkRate(name: string, rate: unknown): void {
  if (rate === undefined || (typeof rate === "number" && Number.isFinite(rate) && rate >= 0)) return;
  throw new StrongboxError(
    "INVALID_INPUT",
    `The ${name} rate limit must be a number of bytes per second (0 for none), not ${String(rate)}.`,
    { details: { [name]: rate } },
  );
}
