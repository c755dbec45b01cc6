import type { Worker } from "node:worker_threads";
import { abortError, StrongboxError } from "../errors.js";
import type { InputBlock } from "./compress.js";
import {
  PACK_BLOCK_SIZE,
  PACK_BLOCKS_IN_FLIGHT,
  PACK_RING_BLOCKS,
  type PackCounters,
  type PackTreeStats,
  type PackWorkerData,
  type PackWorkerMessage,
  SHARED_CANCEL,
  SHARED_DEFLATE_WAITING,
  SHARED_IN_FLIGHT,
  SHARED_RING_USED,
  SHARED_SLOTS,
} from "./pack-worker-protocol.js";
import { COLLECT_OFTEN, spawnWorker } from "./spawn-worker.js";
import type { ArchiveOperationOptions } from "./types.js";

/** Progress is reported at most this often (plus once at the end). */
const PROGRESS_INTERVAL_MS = 100;

/** What to pack, as the main thread resolved it. */
export interface PackWorkerInput {
  root: string;
  ignoreRules: string;
  exclude: string[];
  /** The gzip level (see `PackWorkerData.level`). */
  level: number;
}

/** A pack worker at work. */
export interface PackWorkerRun {
  /**
   * The tar stream as blocks, in order, each with the ranges of file content that look incompressible.
   * The blocks lie in memory shared with the worker: each must be released once it has been read, in
   * order. Taking a block frees room for the worker, so a slow consumer holds it back. Throws when the worker
   * fails or `signal` fires; leaving the loop early stops the worker.
   */
  blocks: AsyncIterable<InputBlock>;
  /** Totals, resolved once the worker has sent its last block. */
  stats: Promise<PackTreeStats>;
  /** Tells the worker how many blocks wait at the deflate workers (see `CompressOptions.onDeflateWaiting`). */
  reportDeflateWaiting(blocks: number): void;
}

/**
 * Starts the pack worker for `input`. Warnings and throttled progress are delivered on the main thread
 * as the worker reports them; a callback that throws fails the pack with that error.
 */
export function startPackWorker(input: PackWorkerInput, options: ArchiveOperationOptions): PackWorkerRun {
  const { signal, onProgress, onWarning } = options;
  const shared = new SharedArrayBuffer(SHARED_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const state = new Int32Array(shared);
  const queue: InputBlock[] = [];
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
    for (const slot of [SHARED_IN_FLIGHT, SHARED_RING_USED]) {
      Atomics.store(state, slot, -(2 ** 30));
      Atomics.notify(state, slot);
    }
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

  const ring = new SharedArrayBuffer(PACK_RING_BLOCKS * PACK_BLOCK_SIZE);
  const release = (): void => {
    Atomics.sub(state, SHARED_RING_USED, 1);
    Atomics.notify(state, SHARED_RING_USED);
  };
  const data: PackWorkerData = {
    ...input,
    shared,
    blockSize: PACK_BLOCK_SIZE,
    blocksInFlight: PACK_BLOCKS_IN_FLIGHT,
    ring,
  };
  const worker: Worker = spawnWorker(import.meta.url, "pack-worker", data, COLLECT_OFTEN);
  const onAbort = (): void => fail(abortError(signal, "Packing"));
  signal?.addEventListener("abort", onAbort, { once: true });
  worker.on("message", (message: PackWorkerMessage) => {
    if (failure !== undefined) return;
    switch (message.type) {
      case "block":
        queue.push({
          data: Buffer.from(ring, message.slot * PACK_BLOCK_SIZE, message.length),
          incompressible: message.incompressible,
          release,
          deflated:
            message.deflated &&
            Buffer.from(message.deflated.buffer, message.deflated.byteOffset, message.deflated.length),
        });
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

  async function* blocks(): AsyncGenerator<InputBlock> {
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
  const reportDeflateWaiting = (blocks: number): void => {
    Atomics.store(state, SHARED_DEFLATE_WAITING, blocks);
  };
  return { blocks: blocks(), stats, reportDeflateWaiting };
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
