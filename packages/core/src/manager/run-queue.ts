import { StrongboxError } from "../errors.js";

/**
 * The manager's limit on operations running at once: the rest wait in order, holding nothing but a
 * closure (no worker, no stream), so memory does not grow with the queue.
 */
export interface RunQueue {
  /**
   * Runs `task` once fewer than the limit run and no earlier operation of `server` still runs (FIFO
   * across servers; an operation of a busy server does not hold up later ones of idle servers). When
   * `signal` fires while it waits, `task` runs at once, outside the limit, to record its cancellation.
   */
  run<T>(server: string, signal: AbortSignal, task: () => Promise<T>): Promise<T>;
}

interface Waiting {
  server: string;
  start(): void;
}

/** Creates a queue that runs at most `maxConcurrent` operations at once. */
export function createRunQueue(maxConcurrent: number): RunQueue {
  const waiting: Waiting[] = [];
  const runningServers = new Set<string>();

  const pump = (): void => {
    for (let index = 0; index < waiting.length && runningServers.size < maxConcurrent; ) {
      const next = waiting[index] as Waiting;
      if (runningServers.has(next.server)) {
        index++;
        continue;
      }
      waiting.splice(index, 1);
      next.start();
    }
  };

  return {
    run(server, signal, task) {
      return new Promise((resolve, reject) => {
        const settle = (work: Promise<unknown>) => work.then(resolve as (value: unknown) => void, reject);
        const entry: Waiting = {
          server,
          start() {
            signal.removeEventListener("abort", onAbort);
            runningServers.add(server);
            settle(
              Promise.resolve()
                .then(task)
                .finally(() => {
                  runningServers.delete(server);
                  pump();
                }),
            );
          },
        };
        const onAbort = () => {
          const index = waiting.indexOf(entry);
          if (index === -1) return;
          waiting.splice(index, 1);
          settle(Promise.resolve().then(task));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiting.push(entry);
        if (signal.aborted) onAbort();
        else pump();
      });
    },
  };
}

/** Checks the `maxConcurrent` option: a whole number of at least 1. */
export function checkMaxConcurrent(value: unknown): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= 1) return value;
  throw new StrongboxError(
    "INVALID_INPUT",
    "maxConcurrent must be a whole number of operations, at least 1.",
    { details: { maxConcurrent: value } },
  );
}
