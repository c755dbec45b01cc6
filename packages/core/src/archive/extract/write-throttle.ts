/** Inflated bytes reported to the main thread per request: far fewer messages than one per slice. */
const REQUEST_BYTES = 256 * 1024;
/** Bytes the worker may write ahead of the main thread's grants, so the round trips never stall it. */
const AHEAD_BYTES = 1024 * 1024;

/** The worker's side of a rate limit held by the main thread. */
export interface WriteThrottle {
  /** Awaited before writing `bytes`; waits while too much is written and not yet granted. */
  throttle(bytes: number): Promise<void>;
  /** The main thread let `bytes` pass. */
  grant(bytes: number): void;
  /** Reports what is left and waits for every grant, so the limiters see all bytes and the end is honest. */
  drain(): Promise<void>;
  /** Stops waiting for grants (the job is being stopped). */
  stop(): void;
}

/**
 * Creates the worker's side of a write limit whose limiters live on the main thread (they are shared by
 * every operation of a manager): bytes are reported in batches through `request`, and the worker runs at
 * most {@link AHEAD_BYTES} ahead of what was granted.
 */
export function createWriteThrottle(request: (bytes: number) => void): WriteThrottle {
  let unreported = 0;
  let ungranted = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const report = (): void => {
    ungranted += unreported;
    request(unreported);
    unreported = 0;
  };
  const waitUntil = async (most: number): Promise<void> => {
    while (ungranted > most && !stopped) await new Promise<void>((resolve) => (wake = resolve));
  };
  return {
    async throttle(bytes) {
      unreported += bytes;
      if (unreported >= REQUEST_BYTES) report();
      await waitUntil(AHEAD_BYTES);
    },
    async drain() {
      if (unreported > 0) report();
      await waitUntil(0);
    },
    grant(bytes) {
      ungranted -= bytes;
      notify();
    },
    stop() {
      stopped = true;
      notify();
    },
  };
}
