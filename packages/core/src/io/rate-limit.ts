import { abortError, StrongboxError } from "../errors.js";

/**
 * A token bucket for bytes. Takers may ask for more than the bucket holds: they go into debt and wait it
 * off, so large blocks are limited as accurately as small ones. Shared by every stream that should split
 * one budget (say, all backups of a node).
 */
export interface RateLimiter {
  /** Current limit in bytes per second; `undefined` when unlimited. */
  readonly bytesPerSecond: number | undefined;
  /** Changes the limit at run time; `undefined` or 0 lifts it. Takers already waiting keep their turn. */
  setRate(bytesPerSecond: number | undefined): void;
  /** Resolves once `bytes` may pass; rejects with `ABORTED` if `signal` fires first. */
  take(bytes: number, signal?: AbortSignal): Promise<void>;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Seconds of traffic the bucket may hold when idle (default 0.1): the largest burst after a pause. */
  burstSeconds?: number;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
  /** Waits `ms` milliseconds, for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Parses a rate such as `50M`, `512k`, `1.5G` or a plain number of bytes per second; `0` means unlimited. */
export function parseRate(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?\s*$/i.exec(text);
  if (!match) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `"${text}" is not a rate: write it like 50M (MiB/s), 512k or 0 for none.`,
    );
  }
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
    match[2]!.toLowerCase() as "" | "k" | "m" | "g"
  ];
  const bytes = Math.round(Number(match[1]) * unit);
  return bytes > 0 ? bytes : undefined;
}

/** Creates a {@link RateLimiter}; without a rate (or with 0) it lets everything through at no cost. */
export function createRateLimiter(bytesPerSecond?: number, options: RateLimiterOptions = {}): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const wait = options.sleep ?? sleep;
  const burstSeconds = options.burstSeconds ?? 0.1;
  let rate = bytesPerSecond && bytesPerSecond > 0 ? bytesPerSecond : undefined;
  let tokens = rate ? rate * burstSeconds : 0;
  let last = now();

  const refill = () => {
    const t = now();
    if (rate) tokens = Math.min(rate * burstSeconds, tokens + ((t - last) / 1000) * rate);
    last = t;
  };

  return {
    get bytesPerSecond() {
      return rate;
    },
    setRate(next) {
      refill();
      rate = next && next > 0 ? next : undefined;
      if (rate) tokens = Math.min(tokens, rate * burstSeconds);
    },
    async take(bytes, signal) {
      if (!rate) return;
      refill();
      tokens -= bytes;
      if (tokens < 0) await wait((-tokens / rate) * 1000, signal);
    },
  };
}

/**
 * Passes `source` through every limiter in `limiters` (an operation's own and the manager's shared one),
 * chunk by chunk. With no limiter set it adds nothing but the iteration.
 */
export function limitRate(
  source: AsyncIterable<Uint8Array>,
  limiters: readonly (RateLimiter | undefined)[],
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  return limitItems(source, limiters, (chunk) => chunk.byteLength, signal);
}

/** {@link limitRate} for items that carry bytes, each counted as `sizeOf(item)`. */
export async function* limitItems<T>(
  source: AsyncIterable<T>,
  limiters: readonly (RateLimiter | undefined)[],
  sizeOf: (item: T) => number,
  signal?: AbortSignal,
): AsyncGenerator<T> {
  const active = limiters.filter((l): l is RateLimiter => l !== undefined);
  for await (const item of source) {
    for (const limiter of active) await limiter.take(sizeOf(item), signal);
    yield item;
  }
}
