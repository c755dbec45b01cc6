import { Readable } from "node:stream";
import { abortError, isStrongboxError, StrongboxError, throwIfAborted } from "../../errors.js";
import { limitItems } from "../../io/rate-limit.js";
import { createArchiveWorkers } from "../archive-workers.js";
import { compressBlocks } from "../gzip/compress.js";
import type { PackHandle, PackOptions, PackResult } from "../types.js";
import { resolvePackInput } from "./pack-input.js";
import { startPackWorker } from "./pack-worker-client.js";

/**
 * Packs the directory `root` into a `.tar.gz` stream. The walk, reads, tar headers and CRC run in a pack
 * worker thread, deflate on the deflate threads of `options.workers` (or of the pack's own), and the
 * archive is hashed (sha256) in the pack worker as it streams out, never re-read: this thread only moves
 * memory between them, so a busy node's event loop stays free.
 *
 * Entries are sorted by name, so the same tree gives the same archive. Symlinks are stored as links,
 * fifos, sockets and devices are skipped, and files that change while read are archived as their
 * header says: each case is reported through `onWarning`, and the archive stays valid.
 *
 * @example
 * ```ts
 * const { stream, result } = pack("/srv/minecraft", { ignore: ["*.log", "cache/"] });
 * await pipeline(stream, createWriteStream("backup.tar.gz"));
 * const { checksum, bytes } = await result;
 * ```
 * @returns the stream to read, and the result once it has ended. The stream errors (and `result`
 * rejects) with `NOT_FOUND` or `INVALID_INPUT` for a bad root or options, and with `ABORTED` when
 * `options.signal` fires or the stream is destroyed before its end.
 */
export function pack(root: string, options: PackOptions = {}): PackHandle {
  return startPack(root, options, []);
}

/**
 * {@link pack}, leaving out the absolute paths in `exclude` (the archive being written, when it lies
 * inside the root).
 */
export function startPack(root: string, options: PackOptions, exclude: readonly string[]): PackHandle {
  // Fires when the stream closes for any reason, so an abandoned pack stops its worker.
  const closed = new AbortController();
  const signal =
    options.signal === undefined ? closed.signal : AbortSignal.any([options.signal, closed.signal]);
  let summary: PackResult | undefined;
  const stream = Readable.from(
    archiveBytes(root, options, exclude, signal, (result) => {
      summary = result;
    }),
    { objectMode: false },
  );
  const onAbort = (): void => {
    stream.destroy(abortError(signal, "Packing"));
  };
  // A signal that fired before the pack began fires no event: a lazy stream nobody reads would then
  // never settle `result`.
  if (signal.aborted) queueMicrotask(onAbort);
  else signal.addEventListener("abort", onAbort, { once: true });
  stream.once("close", () => {
    signal.removeEventListener("abort", onAbort);
    closed.abort();
  });
  // Settled by whichever comes first: "end", "error", or "close". A destroyed Readable.from may still
  // emit "end", so only a summary (set when the archive is complete) counts as success.
  const result = new Promise<PackResult>((resolve, reject) => {
    stream.once("end", () => (summary === undefined ? reject(closedEarly()) : resolve(summary)));
    stream.once("error", (error) => reject(packFailure(error, options.signal)));
    stream.once("close", () => reject(closedEarly()));
  });
  result.catch(() => {});
  return { stream, result };
}

async function* archiveBytes(
  root: string,
  options: PackOptions,
  exclude: readonly string[],
  signal: AbortSignal,
  done: (result: PackResult) => void,
): AsyncGenerator<Buffer> {
  const input = await resolvePackInput(root, options, exclude);
  throwIfAborted(signal, "Packing");
  const ownWorkers = options.workers === undefined ? createArchiveWorkers() : undefined;
  const workers = options.workers ?? ownWorkers!;
  try {
    const run = startPackWorker(input, { ...options, signal }, workers.waitingBlocks, workers);
    const limiters = options.readLimiters ?? [];
    const tar =
      limiters.length > 0
        ? limitItems(run.blocks, limiters, (block) => block.data.byteLength, signal)
        : run.blocks;
    const gzip = compressBlocks(tar, {
      level: options.level ?? 1,
      signal,
      workers,
      passOutput: run.hashOutput,
    });
    let bytes = 0;
    for await (const chunk of gzip as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      yield chunk;
    }
    const checksum = await run.digest();
    const stats = await run.stats;
    done({ checksum, bytes, ...stats });
  } finally {
    await ownWorkers?.close();
  }
}

function packFailure(error: unknown, signal: AbortSignal | undefined): unknown {
  if (isStrongboxError(error)) return error;
  return signal?.aborted ? abortError(signal, "Packing") : error;
}

function closedEarly(): StrongboxError {
  return new StrongboxError("ABORTED", "Packing stopped because its stream was closed before the end.");
}
