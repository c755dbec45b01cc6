import { Readable } from "node:stream";
import { abortError } from "../errors.js";
import type { ExtractJobHooks, ExtractJobParams } from "./extract-job.js";
import { deserializeError, type FromExtractWorker, type ToExtractWorker } from "./extract-worker-protocol.js";
import { spawnWorker } from "./spawn-worker.js";
import type { ArchiveSource, ExtractResult } from "./types.js";

/** Compressed bytes sent to the worker and not yet consumed: bounds memory whatever the source's pace. */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

/** Hooks of {@link extractInWorker}; the signal is optional on this side. */
export type ExtractWorkerHooks = Partial<Omit<ExtractJobHooks, "signal">> & {
  signal?: AbortSignal | undefined;
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
): Promise<ExtractResult> {
  const worker = spawnWorker(import.meta.url, "extract-worker", params);
  const send = (message: ToExtractWorker, transfer?: ArrayBuffer[]): void =>
    worker.postMessage(message, transfer);
  let inFlight = 0;
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
  const outcome = new Promise<ExtractResult>((resolve, reject) => {
    worker.on("message", (message: FromExtractWorker) => {
      if (message.type === "ack") {
        inFlight -= message.bytes;
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
  let sourceError: { error: unknown } | undefined;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      if (settled || hooks.signal?.aborted) break;
      // A private copy can be transferred without detaching memory the source may still use.
      const copy = new Uint8Array(chunk);
      inFlight += copy.length;
      send({ type: "chunk", data: copy }, [copy.buffer as ArrayBuffer]);
      while (inFlight > MAX_IN_FLIGHT_BYTES && !settled) await new Promise<void>((r) => (creditWaiter = r));
    }
    if (!settled) send({ type: "end" });
  } catch (error) {
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
  }
}
