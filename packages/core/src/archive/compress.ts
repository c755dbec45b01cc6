import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

/** Options of {@link compress}. */
export interface CompressOptions {
  /** gzip level 0-9. */
  level: number;
  signal?: AbortSignal;
}

/**
 * gzip-compresses a byte stream. The tar producer feeds it; its output is what gets hashed and stored.
 * (Placeholder single-thread implementation; the block-parallel compressor replaces it.)
 */
export function compress(source: AsyncIterable<Uint8Array>, options: CompressOptions): Readable {
  const out = new PassThrough();
  pipeline(Readable.from(source), createGzip({ level: options.level }), out, {
    signal: options.signal,
  }).catch((error: unknown) => out.destroy(error as Error));
  return out;
}
