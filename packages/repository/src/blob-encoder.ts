import { createHmac, hash } from "node:crypto";
import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { HIGH_ENTROPY_BITS, sampleEntropyBits } from "@strongbox/core/threads";
import { seal } from "./crypto.js";

/** Bytes of a chunk id (SHA-256 or HMAC-SHA-256). */
export const ID_BYTES = 32;

/** The keys of an encrypted repository's chunks (both absent when it is not encrypted). */
export interface ChunkKeys {
  /** Keys the chunk ids (HMAC-SHA-256), so ids reveal nothing of the content. */
  idKey?: Buffer | undefined;
  /** Seals every stored blob (AES-256-GCM). */
  dataKey?: Buffer | undefined;
}

/** A chunk ready for a pack: its id, its stored blob, the bytes it holds. */
export interface SealedBlob {
  id: Uint8Array;
  /** What the pack stores: the payload (a mark byte, then the chunk or its raw deflate), sealed. */
  blob: Uint8Array;
  rawLength: number;
}

/** Turns chunks into ids and stored blobs, synchronously: on a chunk worker, or for a few tree chunks. */
export interface BlobEncoder {
  /** The chunk's id: sha256 of its bytes, or HMAC-SHA-256 under the id key. */
  id(chunk: Uint8Array): Buffer;
  /** The chunk's stored blob: deflated when that saves bytes and it does not look compressed, then sealed. */
  encode(id: Uint8Array, chunk: Uint8Array): Buffer;
  /**
   * The same blob as consecutive parts, to copy where it goes without making it whole first: unsealed, a
   * mark byte and a view of the chunk (or its deflate); sealed, one part.
   */
  encodeParts(id: Uint8Array, chunk: Uint8Array): Uint8Array[];
}

const STORED = 0;
const DEFLATED = 1;
const STORED_MARK = Uint8Array.of(STORED);
const DEFLATED_MARK = Uint8Array.of(DEFLATED);

/** Creates a {@link BlobEncoder}; `level` is the deflate level (0: store everything). */
export function createBlobEncoder(keys: ChunkKeys, level: number): BlobEncoder {
  const { idKey, dataKey } = keys;
  const encodeParts = (id: Uint8Array, chunk: Uint8Array): Uint8Array[] => {
    const parts = payloadParts(chunk, level);
    return dataKey ? [seal(dataKey, Buffer.concat(parts), blobContext(id))] : parts;
  };
  return {
    id: (chunk) => chunkIdBytes(idKey, chunk),
    encode: (id, chunk) => Buffer.concat(encodeParts(id, chunk)),
    encodeParts,
  };
}

/**
 * A chunk's id as bytes (see {@link BlobEncoder.id}). Unkeyed, through the one-shot `hash`: a hash object
 * per 16 KiB chunk cost a third more than the hashing itself (804 against 1,097 MiB/s, measured here).
 */
export function chunkIdBytes(idKey: Buffer | undefined, chunk: Uint8Array): Buffer {
  return idKey ? createHmac("sha256", idKey).update(chunk).digest() : hash("sha256", chunk, "buffer");
}

/** What a stored blob's seal authenticates besides its bytes: the chunk it must be. */
export function blobContext(id: Uint8Array): string {
  return `chunk ${Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex")}`;
}

/**
 * zlib's memory level for chunks: 7, not its default 8. At 8 its state takes fresh memory from the system
 * for every call (an allocation past malloc's mmap threshold), which on a virtual machine with costly page
 * faults made a call take 101 µs on the main thread and 40 µs on a worker before any deflating; at 7, 13
 * and 15 µs. 16 KiB chunks of text deflate to the same size (0.3697 of their bytes, 1,388 chunks of the
 * benchmark trees' configs).
 */
const MEM_LEVEL = 7;

/**
 * Sampled entropy (bits per byte) from which a chunk that does not look compressed is deflated with
 * `Z_RLE` (runs of one byte, Huffman codes) instead of deflate's string matching: compressed data with
 * zeros between (region files' sectors). On the benchmark trees those chunks (2,747, 42.7 MiB, sampled at
 * 6.5-7.5 bits) deflated to the same 0.955 of their size in 255 ms instead of 530 ms; text (4-4.5 bits)
 * needs string matching (0.38 against 0.53 with runs alone).
 */
const RUNS_ONLY_FROM_BITS = 6.5;

/**
 * A chunk's payload, in parts: a mark byte, then its raw deflate when that is smaller, else the chunk as it is. A
 * chunk that looks already compressed (region files, jars: most of a game server) is not tried, one nearly
 * so is deflated for its runs only ({@link RUNS_ONLY_FROM_BITS}). A zlib state per chunk costs about 11 µs
 * (see {@link MEM_LEVEL}), less than deflating 16 KiB: no state is kept.
 */
function payloadParts(chunk: Uint8Array, level: number): Uint8Array[] {
  const bits = level > 0 ? sampleEntropyBits(chunk, 0, chunk.length) : Number.POSITIVE_INFINITY;
  if (bits < HIGH_ENTROPY_BITS) {
    const strategy = bits >= RUNS_ONLY_FROM_BITS ? constants.Z_RLE : constants.Z_DEFAULT_STRATEGY;
    const deflated = deflateRawSync(chunk, { level, memLevel: MEM_LEVEL, strategy });
    if (deflated.length < chunk.length) return [DEFLATED_MARK, deflated];
  }
  return [STORED_MARK, chunk];
}

/**
 * The chunk a payload holds (see {@link payloadParts}), or `undefined` when its mark is unknown or its deflate
 * is damaged.
 */
export function chunkOfPayload(payload: Buffer): Buffer | undefined {
  if (payload[0] === STORED) return payload.subarray(1);
  if (payload[0] !== DEFLATED) return undefined;
  try {
    return inflateRawSync(payload.subarray(1));
  } catch {
    return undefined;
  }
}
