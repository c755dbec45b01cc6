import { createHash } from "node:crypto";
import type { Readable } from "node:stream";

/**
 * Deterministic, incompressible-looking bytes: the same `seed` and `offset` always give the same data,
 * so a large upload can be generated twice (once to send, once to hash) without holding it in memory.
 */
export function patternBytes(size: number, seed = 1, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) {
    // A multiplicative hash of the absolute position: cheap, position-addressable, no visible period.
    const x = Math.imul((offset + i) ^ Math.imul(seed, 0x9e3779b1), 0x85ebca6b);
    out[i] = (x ^ (x >>> 13) ^ (x >>> 24)) & 0xff;
  }
  return out;
}

/** Options of {@link streamPattern}. */
export interface StreamPatternOptions {
  /** Seed of {@link patternBytes}. */
  seed?: number;
  /** Largest chunk yielded; chunk sizes vary below it so adapters meet uneven boundaries. */
  chunkSize?: number;
  /** Called before each chunk is yielded with the bytes yielded so far; may throw or wait. */
  beforeChunk?: (sent: number) => void | Promise<void>;
}

/** Yields `total` bytes of {@link patternBytes} in uneven chunks, with no length known in advance. */
export async function* streamPattern(
  total: number,
  options: StreamPatternOptions = {},
): AsyncGenerator<Buffer> {
  const { seed = 1, chunkSize = 256 * 1024, beforeChunk } = options;
  let sent = 0;
  let turn = 0;
  while (sent < total) {
    await beforeChunk?.(sent);
    const size = Math.min(total - sent, chunkSize - ((turn++ * 7919) % Math.max(1, chunkSize >> 1)));
    yield patternBytes(size, seed, sent);
    sent += size;
  }
}

/** `sha256` hex of the bytes {@link streamPattern} would yield. */
export function patternSha256(total: number, seed = 1): string {
  const hash = createHash("sha256");
  const step = 1024 * 1024;
  for (let at = 0; at < total; at += step) hash.update(patternBytes(Math.min(step, total - at), seed, at));
  return hash.digest("hex");
}

/** Reads a whole stream into one buffer (for small objects). */
export async function readAll(stream: Readable | AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** `sha256` hex and length of a stream, read with flat memory. */
export async function hashStream(
  stream: Readable | AsyncIterable<Uint8Array>,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Uint8Array);
    size += (chunk as Uint8Array).byteLength;
  }
  return { sha256: hash.digest("hex"), size };
}
