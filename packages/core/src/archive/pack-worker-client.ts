import { Worker } from "node:worker_threads";
import { abortError, StrongboxError } from "../errors.js";
import {
  PACK_BLOCK_SIZE,
  PACK_BLOCKS_IN_FLIGHT,
  type PackCounters,
  type PackTreeStats,
  type PackWorkerData,
  type PackWorkerMessage,
  SHARED_CANCEL,
  SHARED_IN_FLIGHT,
  SHARED_SLOTS,
} from "./pack-worker-protocol.js";
import type { ArchiveOperationOptions } from "./types.js";

/** Progress is reported at most this often (plus once at the end). */
const PROGRESS_INTERVAL_MS = 100;

/** What to pack, as the main thread resolved it. */
export interface PackWorkerInput {
  root: string;
  ignoreRules: string;
  exclude: string[];
}

/** A pack worker at work. */
export interface PackWorkerRun {
  /**
   * The tar stream as blocks, in order. Taking a block frees room for the worker, so a slow consumer
   * holds it back. Throws when the worker fails or `signal` fires; leaving the loop early stops the worker.
   */
  blocks: AsyncIterable<Buffer>;
  /** Totals, resolved once the worker has sent its last block. */
  stats: Promise<PackTreeStats>;
}

/**
 * Starts the pack worker for `input`. Warnings and throttled progress are delivered on the main thread
 * as the worker reports them; a callback that throws fails the pack with that error.
 */
export function startPackWorker(input: PackWorkerInput, options: ArchiveOperationOptions): PackWorkerRun {
  const { signal, onProgress, onWarning } = options;
  const shared = new SharedArrayBuffer(SHARED_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const state = new Int32Array(shared);
  const queue: Buffer[] = [];
  let totals: PackTreeStats | undefined;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let lastProgress = Number.NEGATIVE_INFINITY;
  let resolveStats!: (stats: PackTreeStats) => void;
  let rejectStats!: (error: unknown) => void;
  const stats = new Promise<PackTreeStats>((resolve, reject) => {
    resolveStats = resolve;
    rejectStats = reject;
  });
  stats.catch(() => {});

  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const stopWorker = (): void => {
    Atomics.store(state, SHARED_CANCEL, 1);
    // Moving the counter also wakes a worker that read it just before deciding to wait.
    Atomics.store(state, SHARED_IN_FLIGHT, -(2 ** 30));
    Atomics.notify(state, SHARED_IN_FLIGHT);
  };
  const fail = (error: unknown): void => {
    if (failure !== undefined || totals !== undefined) return;
    failure = error;
    stopWorker();
    rejectStats(error);
    notify();
  };
  const guarded = (callback: () => void): void => {
    try {
      callback();
    } catch (error) {
      fail(error);
    }
  };
  const progress = (counters: PackCounters, final: boolean): void => {
    const now = performance.now();
    if (onProgress === undefined || (!final && now - lastProgress < PROGRESS_INTERVAL_MS)) return;
    lastProgress = now;
    guarded(() => onProgress({ bytes: counters.sourceBytes, files: counters.entries }));
  };

  const worker = spawnPackWorker({
    ...input,
    shared,
    blockSize: PACK_BLOCK_SIZE,
    blocksInFlight: PACK_BLOCKS_IN_FLIGHT,
  });
  const onAbort = (): void => fail(abortError(signal, "Packing"));
  signal?.addEventListener("abort", onAbort, { once: true });
  worker.on("message", (message: PackWorkerMessage) => {
    if (failure !== undefined) return;
    switch (message.type) {
      case "block":
        queue.push(Buffer.from(message.buffer, 0, message.length));
        // Reported before the block can be taken, hence before the worker may move on past it.
        progress(message.counters, false);
        break;
      case "warning":
        if (onWarning !== undefined) guarded(() => onWarning(message.warning));
        break;
      case "done": {
        const { files, directories, symlinks, sourceBytes } = message.stats;
        progress({ entries: files + directories + symlinks, sourceBytes }, true);
        if (failure !== undefined) break;
        totals = message.stats;
        resolveStats(message.stats);
        break;
      }
      case "fatal":
        fail(workerFailure(message, input.root));
        break;
    }
    notify();
  });
  worker.on("error", fail);
  worker.on("exit", () => {
    signal?.removeEventListener("abort", onAbort);
    fail(new Error("The pack worker stopped before it finished."));
  });
  if (signal?.aborted) onAbort();

  async function* blocks(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (failure !== undefined) throw failure;
        const block = queue.shift();
        if (block !== undefined) {
          Atomics.sub(state, SHARED_IN_FLIGHT, 1);
          Atomics.notify(state, SHARED_IN_FLIGHT);
          yield block;
        } else if (totals !== undefined) {
          return;
        } else {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      }
    } finally {
      if (totals === undefined) stopWorker();
    }
  }
  return { blocks: blocks(), stats };
}

/**
 * From compiled code the worker is `pack-worker.js` beside this file. From TypeScript sources (vitest,
 * tsx) it is `pack-worker.ts`, which a worker cannot load by itself: a tiny bootstrap registers tsx's
 * loader in the worker first (`execArgv: ["--import", "tsx"]` is not applied to workers on Node 20).
 */
function spawnPackWorker(workerData: PackWorkerData): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./pack-worker.js", here), { workerData });
  const entry = new URL("./pack-worker.ts", here).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

function workerFailure(message: Extract<PackWorkerMessage, { type: "fatal" }>, root: string): Error {
  const details = { root, path: message.path, errno: message.errno };
  if (message.errno === "ENOENT" || message.errno === "ENOTDIR") {
    return new StrongboxError("NOT_FOUND", `The folder to pack, ${root}, vanished before it could be read.`, {
      details,
    });
  }
  if (message.errno !== undefined) {
    return new StrongboxError(
      "INVALID_INPUT",
      `Cannot read the folder to pack, ${root}: ${message.message}.`,
      {
        details,
      },
    );
  }
  return new Error(`Packing ${root} failed: ${message.message}`);
}
