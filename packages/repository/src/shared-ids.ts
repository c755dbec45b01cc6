import { ID_BYTES } from "./blob-encoder.js";

/** A free slot of an id table. */
export const EMPTY = -1;

/**
 * The chunk ids an index held at one moment, in memory it shares with chunk workers (see
 * `ChunkIndex.share`): its id bytes and its table of entry numbers, read without a message or a copy.
 * Entries from `count` on were added later and are not part of it.
 */
export interface SharedIds {
  /** Ids back to back, entry `n` at `n * 32` (at least `count` of them). */
  ids: Uint8Array;
  /** Open addressing (linear probing) of entry numbers by the id's first four bytes; EMPTY where free. */
  table: Int32Array;
  count: number;
}

/**
 * The entry number of `id` in `table`, or EMPTY. Entries at `count` or past it are taken as free slots:
 * a slot filled after the entries before `count` were placed lies past each of them on its probe path
 * (slots only ever fill), so every id among those is still found, and none added later is.
 */
export function findEntry(table: Int32Array, ids: Uint8Array, count: number, id: Uint8Array): number {
  const mask = table.length - 1;
  for (let slot = slotOf(id, 0) & mask; ; slot = (slot + 1) & mask) {
    const entry = table[slot]!;
    if (entry === EMPTY || entry >= count) return EMPTY;
    if (idsEqual(ids, entry * ID_BYTES, id, 0)) return entry;
  }
}

/** Whether `id` is one of the shared ids. */
export function holds(shared: SharedIds, id: Uint8Array): boolean {
  return findEntry(shared.table, shared.ids, shared.count, id) !== EMPTY;
}

/** The id's first four bytes as a number: ids are uniform hashes, so this spreads them evenly. */
export function slotOf(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

/** Whether the ids at `aAt` in `a` and at `bAt` in `b` are the same. */
export function idsEqual(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number): boolean {
  for (let i = 0; i < ID_BYTES; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}
