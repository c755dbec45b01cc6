import { Readable } from "node:stream";
import { abortError } from "../../errors.js";
import type { ArchiveWorkers } from "../archive-workers.js";
import { spawnWorker } from "../spawn-worker.js";
import type { ArchiveSource } from "../types.js";
import type { ExtractJobHooks, ExtractJobParams, ExtractOutcome } from "./extract-job.js";
import {
  deserializeError,
  type ExtractWorkerData,
  type FromExtractWorker,
  type ToExtractWorker,
} from "./extract-worker-protocol.js";

/**
 * Size of the input ring: compressed bytes copied for the worker and not yet read by its zlib. It bounds
 * memory whatever the source's pace, and being reused it leaves no garbage behind (a fresh copy of each
 * chunk, moved to the worker, kept ~35 MiB of dead buffers alive between collections).
 */
export const INPUT_RING_BYTES = 4 * 1024 * 1024;

/** Bytes of the ring one message announces at most. */
const MESSAGE_BYTES = INPUT_RING_BYTES / 8;

/**
 * The worker frees the inflated slices it has written only when it collects its young generation; a
 * small one makes that happen every few MiB. Measured on the benchmark trees: peak RSS of an unpack
 * 135-155 MiB with V8's default, 116-124 MiB with this, at the same speed.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2 };

/** Hooks of {@link extractInWorker}; the signal is optional on this side. */
export type ExtractWorkerHooks = Partial<Omit<ExtractJobHooks, "signal">> & {
  signal?: AbortSignal | undefined;
  /** Starts the worker as one of these threads (ended by their `close()`). */
  workers?: ArchiveWorkers | undefined;
};

/**
 * Runs an extract job in a worker thread, so its synchronous writes never block this thread's event loop.
 * Streams the source to it with backpressure; an abort, a failing source or a failing job stops both
 * sides, and the job cleans its staging folder before this settles.
 */
export async function extractInWorker(
  source: ArchiveSource,
  params: ExtractJobParams,
  hooks: ExtractWorkerHooks,
): Promise<ExtractOutcome> {
  const ring = hooks.workers?.memory.borrow(INPUT_RING_BYTES) ?? new SharedArrayBuffer(INPUT_RING_BYTES);
  const data: ExtractWorkerData = { params, ring };
  const worker =
    hooks.workers === undefined
      ? spawnWorker(import.meta.url, "extract-worker", data, WORKER_LIMITS)
      : hooks.workers.startThread(import.meta.url, "extract-worker", data, WORKER_LIMITS);
  const send = (message: ToExtractWorker): void => worker.postMessage(message);
  /** Where the next bytes go, and how many before it the worker has not consumed yet. */
  let head = 0;
  let used = 0;
  let creditWaiter: (() => void) | undefined;
  let settled = false;
  const wakeFeeder = (): void => {
    creditWaiter?.();
    creditWaiter = undefined;
  };
  // Grants leave in the order asked, each once the limiters let its bytes pass.
  let granting = Promise.resolve();
  const grant = (bytes: number): void => {
    granting = granting
      .then(() => hooks.throttle?.(bytes))
      .catch(() => {})
      .then(() => {
        if (!settled) send({ type: "grant", bytes });
      });
  };
  const outcome = new Promise<ExtractOutcome>((resolve, reject) => {
    worker.on("message", (message: FromExtractWorker) => {
      if (message.type === "ack") {
        used -= message.bytes;
        wakeFeeder();
      } else if (message.type === "throttle") grant(message.bytes);
      else if (message.type === "progress") hooks.onProgress?.(message.progress);
      else if (message.type === "warning") hooks.onWarning?.(message.warning);
      else if (message.type === "done") resolve(message.result);
      else reject(deserializeError(message.error));
    });
    worker.on("error", reject);
    worker.on("exit", (code) =>
      reject(new Error(`The extract worker stopped unexpectedly (exit code ${code}).`)),
    );
  }).finally(() => {
    settled = true;
    wakeFeeder();
    // Stop a source that may never yield again; a plain iterable stops at its next chunk.
    if (source instanceof Readable) source.destroy();
  });
  const onAbort = (): void => send({ type: "abort" });
  hooks.signal?.addEventListener("abort", onAbort, { once: true });
  // Bytes copied into the ring and not yet announced: a source of small pieces (a repository's tar of
  // 16 KiB chunks) would cost a message each; they go together, once per turn of the event loop, when the
  // ring wraps, when they reach MESSAGE_BYTES, or before waiting for room.
  let unsentAt = 0;
  let unsent = 0;
  let flushing: NodeJS.Immediate | undefined;
  const flush = (): void => {
    if (flushing) clearImmediate(flushing);
    flushing = undefined;
    if (unsent > 0 && !settled) send({ type: "chunk", offset: unsentAt, length: unsent });
    unsent = 0;
  };
  let sourceError: { error: unknown } | undefined;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      if (settled || hooks.signal?.aborted) break;
      // Copied, in pieces that fit before the ring's end, into room the worker has released.
      for (let at = 0; at < chunk.length && !settled; ) {
        const room = Math.min(INPUT_RING_BYTES - used, INPUT_RING_BYTES - head);
        if (room === 0) {
          flush();
          await new Promise<void>((r) => (creditWaiter = r));
          continue;
        }
        const length = Math.min(room, chunk.length - at);
        new Uint8Array(ring, head, length).set(chunk.subarray(at, at + length));
        if (unsent > 0 && unsentAt + unsent !== head) flush();
        if (unsent === 0) unsentAt = head;
        unsent += length;
        // A message of a part of the ring at most: the worker consumes it while the next part fills.
        if (unsent >= MESSAGE_BYTES) flush();
        else flushing ??= setImmediate(flush);
        head = (head + length) % INPUT_RING_BYTES;
        used += length;
        at += length;
      }
    }
    flush();
    if (!settled) send({ type: "end" });
  } catch (error) {
    if (flushing) clearImmediate(flushing);
    if (!settled) {
      sourceError = { error };
      send({ type: "abort" });
    }
  }
  try {
    const result = await outcome;
    if (sourceError) throw sourceError.error;
    return result;
  } catch (error) {
    if (sourceError) throw sourceError.error;
    if (hooks.signal?.aborted) throw abortError(hooks.signal, "The extract");
    throw error;
  } finally {
    hooks.signal?.removeEventListener("abort", onAbort);
    await worker.terminate();
    // The feeding above is over and the worker gone: nothing touches the ring any more.
    hooks.workers?.memory.giveBack(ring);
  }
}
