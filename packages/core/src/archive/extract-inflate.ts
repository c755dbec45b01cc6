import { once } from "node:events";
import { Readable } from "node:stream";
import { createGunzip, type Gunzip } from "node:zlib";
import { abortError } from "../errors.js";
import type { ArchiveSource } from "./types.js";

/** Options of {@link inflateArchive}. */
export interface InflateOptions {
  signal?: AbortSignal | undefined;
  /** Sees every compressed chunk, in order, before it is inflated (for hashing and progress). */
  onCompressed?: ((chunk: Uint8Array) => void) | undefined;
  /**
   * Called, in order, once zlib has read the whole of a compressed chunk: from then on its memory may be
   * reused (the extract worker's input lies in a ring shared with the main thread).
   */
  onConsumed?: ((bytes: number) => void) | undefined;
}

/** Inflated output comes in slices this large: fewer, larger slices cost less per byte to parse. */
const INFLATED_CHUNK_SIZE = 64 * 1024;

/**
 * Inflates a gzip archive (several members allowed) as it streams. Inflating runs on the libuv thread
 * pool; errors of the source, of zlib (corrupt or truncated data) and aborts surface through the
 * returned iterable, and stopping the iteration early stops reading the source.
 */
export function inflateArchive(
  source: ArchiveSource,
  options: InflateOptions = {},
): AsyncIterable<Uint8Array> {
  const gunzip = createGunzip({ chunkSize: INFLATED_CHUNK_SIZE });
  const { signal } = options;
  const onAbort = (): void => {
    gunzip.destroy(abortError(signal, "Inflating the archive"));
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  gunzip.once("close", () => {
    signal?.removeEventListener("abort", onAbort);
    // A source waiting for data would otherwise hold the feed (and its file or socket) open.
    if (source instanceof Readable) source.destroy();
  });
  feed(source, gunzip, options).catch((error: unknown) => gunzip.destroy(error as Error));
  return gunzip;
}

/** Writes the source into zlib with backpressure, reporting each chunk once zlib is done reading it. */
async function feed(source: ArchiveSource, gunzip: Gunzip, options: InflateOptions): Promise<void> {
  const { onCompressed, onConsumed } = options;
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    if (gunzip.destroyed) return;
    onCompressed?.(chunk);
    const more = gunzip.write(chunk, (error) => {
      if (!error) onConsumed?.(chunk.length);
    });
    if (!more) await drainedOrClosed(gunzip);
  }
  if (!gunzip.destroyed) gunzip.end();
}

async function drainedOrClosed(gunzip: Gunzip): Promise<void> {
  if (gunzip.destroyed) return;
  const stop = new AbortController();
  await Promise.race([once(gunzip, "drain", stop), once(gunzip, "close", stop)]).finally(() => stop.abort());
}
