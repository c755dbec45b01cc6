import type { ActivityEvent } from "./types.js";

/** Receives activity events; may be async. */
export type ActivityListener = (event: ActivityEvent) => void | Promise<void>;

/** Told when an activity listener throws or rejects. */
export type ListenerErrorHandler = (error: unknown, event: ActivityEvent) => void;

/**
 * Calls the listener without letting it touch the operation: it is never awaited (a slow listener blocks
 * nothing), and a sync throw or async rejection goes to `onError`. Without `onError` the first failure is
 * printed with `console.warn` and later ones are dropped, so a broken logger cannot flood the console.
 */
export function createActivityEmitter(
  listener: ActivityListener | undefined,
  onError?: ListenerErrorHandler,
): (event: ActivityEvent) => void {
  let warned = false;
  const report = (error: unknown, event: ActivityEvent): void => {
    if (onError) {
      // The error handler belongs to the embedder too: it must not break the operation either.
      try {
        onError(error, event);
      } catch {}
      return;
    }
    if (warned) return;
    warned = true;
    console.warn(
      `strongbox: the onActivity listener failed on ${event.event}; later failures are not shown.`,
      error,
    );
  };
  return (event) => {
    if (!listener) return;
    try {
      const result = listener(event);
      if (result && typeof result.then === "function")
        result.then(undefined, (error) => report(error, event));
    } catch (error) {
      report(error, event);
    }
  };
}
