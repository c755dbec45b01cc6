import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { ArchiveSource } from "./types.js";

/** Options of {@link inflateArchive}. */
export interface InflateOptions {
  signal?: AbortSignal;
  /** Sees every compressed chunk, in order, before it is inflated (for hashing and progress). */
  onCompressed?: (chunk: Uint8Array) => void;
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
  const { onCompressed } = options;
  const tap = new Transform({
    transform(chunk: Uint8Array, _encoding, callback) {
      try {
        onCompressed?.(chunk);
        callback(null, chunk);
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  // Failures reach the reader because pipeline destroys `gunzip` with them.
  pipeline(source, tap, gunzip, { signal: options.signal }).catch(() => {});
  return gunzip;
}
