import { ID_BYTES } from "./blob-encoder.js";

/** Bits set per id: with 10 bits of filter per id, about 1 in 120 absent ids is taken as present. */
const HASHES = 7;
const BITS_PER_ID = 10;

/**
 * A Bloom filter of chunk ids in shared memory, so chunk workers can ask, without a message, whether the
 * repository may already hold a chunk, and not deflate one it does (a backup re-reading an unchanged
 * tree would otherwise deflate every chunk only for the main thread to drop it). Ids are uniform hashes:
 * the filter's bit positions are seven of an id's 32-bit words, no hashing. "Maybe" is sometimes wrong
 * (about 1 in 120 absent ids): such a chunk is stored as it is, never lost. Bits at most: 1.25 bytes a chunk.
 */
export function buildIdFilter(ids: Uint8Array): SharedArrayBuffer {
  const count = ids.length / ID_BYTES;
  let bits = 64;
  while (bits < count * BITS_PER_ID) bits *= 2;
  const buffer = new SharedArrayBuffer(bits / 8);
  const filter = new Uint32Array(buffer);
  const view = new DataView(ids.buffer, ids.byteOffset, ids.byteLength);
  const mask = bits - 1;
  for (let at = 0; at < ids.length; at += ID_BYTES) {
    for (let n = 0; n < HASHES; n++) {
      const bit = view.getUint32(at + n * 4, true) & mask;
      filter[bit >>> 5]! |= 1 << (bit & 31);
    }
  }
  return buffer;
}

/** Whether the filter may hold `id` (false: it surely does not). */
export function mayHold(filter: Uint32Array, id: Uint8Array): boolean {
  const mask = filter.length * 32 - 1;
  const view = new DataView(id.buffer, id.byteOffset, id.byteLength);
  for (let n = 0; n < HASHES; n++) {
    const bit = view.getUint32(n * 4, true) & mask;
    if ((filter[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
  }
  return true;
}
