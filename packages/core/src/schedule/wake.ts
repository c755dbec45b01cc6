// Timers run on a monotonic clock while runs are due on the wall clock: waiting in short steps and
// reading the clock again means a clock change (NTP step, suspend and resume) delays a run by at most
// one step, and no wait ever reaches setTimeout's 24.8-day ceiling.
const MAX_STEP_MS = 60_000;

/**
 * Calls `fire` once `now()` reads `at` or later, never synchronously. Returns a function that cancels
 * the wait.
 */
export function wakeAt(at: Date, now: () => Date, fire: () => void): () => void {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    const wait = Math.max(at.getTime() - now().getTime(), 0);
    handle = setTimeout(check, Math.min(wait, MAX_STEP_MS));
  };
  const check = (): void => {
    if (now().getTime() < at.getTime()) {
      arm();
      return;
    }
    handle = undefined;
    fire();
  };
  arm();
  return () => clearTimeout(handle);
}
