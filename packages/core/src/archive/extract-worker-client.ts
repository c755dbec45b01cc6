import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { abortError } from "../errors.js";
import type { ExtractJobHooks, ExtractJobParams } from "./extract-job.js";
import { deserializeError, type FromExtractWorker, type ToExtractWorker } from "./extract-worker-protocol.js";
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
  const worker = spawnWorker(new URL(`./extract-worker${moduleExtension()}`, import.meta.url), params);
  const send = (message: ToExtractWorker, transfer?: ArrayBuffer[]): void =>
    worker.postMessage(message, transfer);
  let inFlight = 0;
  let creditWaiter: (() => void) | undefined;
  let settled = false;
  const wakeFeeder = (): void => {
    creditWaiter?.();
    creditWaiter = undefined;
  };
  const outcome = new Promise<ExtractResult>((resolve, reject) => {
    worker.on("message", (message: FromExtractWorker) => {
      if (message.type === "ack") {
        inFlight -= message.bytes;
        wakeFeeder();
      } else if (message.type === "progress") hooks.onProgress?.(message.progress);
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

/** `.ts` when this module runs from source (vitest, tsx), `.js` once built. */
function moduleExtension(): string {
  return import.meta.url.endsWith(".ts") ? ".ts" : ".js";
}

/**
 * Starts a worker from a module URL. From TypeScript sources the worker registers tsx first, since
 * `--import` in a worker's execArgv is not honoured on every Node 20 release.
 */
function spawnWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData });
  const tsx = tsxEsmApiUrl();
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/** URL of tsx's ESM register API, read from its exports map (a plain `resolve` picks the CJS build). */
function tsxEsmApiUrl(): string {
  const manifestPath = createRequire(import.meta.url).resolve("tsx/package.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const entry = manifest.exports["./esm/api"]?.import.default;
  if (!entry) throw new Error("tsx does not export ./esm/api; run the built package instead of its sources.");
  return pathToFileURL(join(dirname(manifestPath), entry)).href;
}
