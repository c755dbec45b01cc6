import { MessageChannel, type Worker } from "node:worker_threads";
import { abortError, StrongboxError } from "../../errors.js";
import type { ArchiveWorkers } from "../archive-workers.js";
import type { InputBlock } from "../gzip/compress.js";
import { COLLECT_OFTEN, spawnWorker } from "../spawn-worker.js";
import type { ArchiveOperationOptions } from "../types.js";
import {
  PACK_BLOCK_SIZE,
  PACK_BLOCKS_IN_FLIGHT,
  PACK_RING_BLOCKS,
  type PackCounters,
  type PackTreeStats,
  type PackWorkerData,
  type PackWorkerMessage,
  SHARED_BELL,
  SHARED_CANCEL,
  SHARED_IN_FLIGHT,
  SHARED_RING_USED,
  SHARED_SLOTS,
  type ToPackWorker,
} from "./pack-worker-protocol.js";

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
  /**
   * Has the worker hash an output chunk of the archive (see `CompressOptions.passOutput`): chunks go in
   * the order of the calls and come back in it, an owned one as a new view of the same memory.
   */
  hashOutput(chunk: Buffer, owned: boolean): Promise<Buffer>;
  /** Once every output chunk has been hashed: `sha256:<hex>` of the archive. */
  digest(): Promise<string>;
}

/**
 * Starts the pack worker for `input`, as one of the threads of `workers` when given. It deflates blocks
 * itself while `deflateWaiting[0]` (blocks waiting at the deflate threads) is above 0. Warnings and
 * throttled progress are delivered on the main thread as the worker reports them; a callback that throws
 * fails the pack with that error.
 */
export function startPackWorker(
  input: PackWorkerInput,
  options: ArchiveOperationOptions,
  deflateWaiting: Int32Array<SharedArrayBuffer>,
  workers?: ArchiveWorkers,
): PackWorkerRun {
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
  const hashing: Array<{ chunk: Buffer; resolve(chunk: Buffer): void; reject(error: unknown): void }> = [];
  let digest: { resolve(checksum: string): void; reject(error: unknown): void } | undefined;
  const digested = new Promise<string>((resolve, reject) => {
    digest = { resolve, reject };
  });
  digested.catch(() => {});
  const outputs = new MessageChannel();

  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const ring = (): void => {
    Atomics.add(state, SHARED_BELL, 1);
    Atomics.notify(state, SHARED_BELL);
  };
  const stopWorker = (): void => {
    Atomics.store(state, SHARED_CANCEL, 1);
    ring();
  };
  /** Set once the digest came: the worker's exit that follows is no failure. */
  let finished = false;
  const fail = (error: unknown): void => {
    if (failure !== undefined || finished) return;
    failure = error;
    stopWorker();
    if (totals === undefined) rejectStats(error);
    for (const waiting of hashing.splice(0)) waiting.reject(error);
    digest?.reject(error);
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

  const ringBytes = PACK_RING_BLOCKS * PACK_BLOCK_SIZE;
  const blockRing = workers?.memory.borrow(ringBytes) ?? new SharedArrayBuffer(ringBytes);
  const release = (): void => {
    Atomics.sub(state, SHARED_RING_USED, 1);
    ring();
  };
  const data: PackWorkerData = {
    ...input,
    shared,
    deflateWaiting: deflateWaiting.buffer,
    outputs: outputs.port2,
    blockSize: PACK_BLOCK_SIZE,
    blocksInFlight: PACK_BLOCKS_IN_FLIGHT,
    ring: blockRing,
  };
  const transfer = [outputs.port2];
  const worker: Worker =
    workers === undefined
      ? spawnWorker(import.meta.url, "pack-worker", data, COLLECT_OFTEN, transfer)
      : workers.startThread(import.meta.url, "pack-worker", data, COLLECT_OFTEN, transfer);
  const onAbort = (): void => fail(abortError(signal, "Packing"));
  signal?.addEventListener("abort", onAbort, { once: true });
  worker.on("message", (message: PackWorkerMessage) => {
    if (failure !== undefined) return;
    switch (message.type) {
      case "block":
        queue.push({
          data: Buffer.from(blockRing, message.slot * PACK_BLOCK_SIZE, message.length),
          incompressible: message.incompressible,
          runningCrc: message.runningCrc,
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
      case "hashed": {
        const waiting = hashing.shift()!;
        const { data } = message;
        waiting.resolve(
          data === undefined ? waiting.chunk : Buffer.from(data.buffer, data.byteOffset, data.length),
        );
        break;
      }
      case "digest":
        finished = true;
        digest?.resolve(message.checksum);
        break;
      case "fatal":
        fail(workerFailure(message, input.root));
        break;
    }
    notify();
  });
  worker.on("error", fail);
  worker.on("exit", () => {
    // Its only writer is gone, and a deflate thread still reading a block of it serves a failed pack.
    workers?.memory.giveBack(blockRing);
    signal?.removeEventListener("abort", onAbort);
    outputs.port1.close();
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
          ring();
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
  const send = (message: ToPackWorker, transferList: ArrayBuffer[] = []): void => {
    outputs.port1.postMessage(message, transferList);
    ring();
  };
  const hashOutput = (chunk: Buffer, owned: boolean): Promise<Buffer> => {
    if (failure !== undefined) return Promise.reject(failure);
    return new Promise<Buffer>((resolve, reject) => {
      hashing.push({ chunk, resolve, reject });
      send({ type: "output", data: chunk, owned }, owned ? [chunk.buffer as ArrayBuffer] : []);
    });
  };
  const finish = (): Promise<string> => {
    if (failure === undefined) send({ type: "end" });
    return digested;
  };
  return { blocks: blocks(), stats, hashOutput, digest: finish };
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
