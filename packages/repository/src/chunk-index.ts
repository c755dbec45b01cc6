import { StrongboxError } from "@strongbox/core/parts";

import { ID_BYTES } from "./blob-encoder.js";
import { EMPTY, findEntry, idsEqual, type SharedIds, slotOf } from "./shared-ids.js";

export { ID_BYTES };

const FIELDS = 4;

/**
 * Bytes of one chunk's record as index objects and pack headers store it (see
 * {@link ChunkIndex.addRecords}): the 32-byte id, then the pack's number, offset, length and raw length as
 * u32 little-endian.
 */
export const RECORD_BYTES = ID_BYTES + 4 * FIELDS;

/** Where a chunk's stored bytes are: which pack, where in it, and its sizes. */
export interface ChunkLocation {
  /** The pack object's id. */
  pack: string;
  /** Offset of the stored (sealed, maybe compressed) blob in the pack. */
  offset: number;
  /** Bytes of the stored blob. */
  length: number;
  /** Bytes of the chunk itself, before compression and sealing. */
  rawLength: number;
}

/**
 * Which pack holds each chunk, kept compact: ids in one byte slab, locations in one `Uint32Array`, an
 * open-addressing table of entry numbers keyed by the id's first four bytes (ids are uniform hashes), packs
 * named once in a table. About 56 bytes a chunk with the table at most half full: 32 of id, 16 of location,
 * 4 to 8 of table; a million chunks take about 56 MiB (arrays grow by doubling, so up to twice that
 * until {@link ChunkIndex.compact}).
 */
export class ChunkIndex {
  private ids: Uint8Array = new Uint8Array(ID_BYTES * 1024);
  private fields = new Uint32Array(FIELDS * 1024);
  private table: Int32Array = new Int32Array(2048).fill(EMPTY);
  private count = 0;
  private readonly packIds: string[] = [];
  private readonly packNumbers = new Map<string, number>();

  /** Chunks in the index. */
  get size(): number {
    return this.count;
  }

  /** Bytes the index's arrays take. */
  get byteLength(): number {
    return this.ids.byteLength + this.fields.byteLength + this.table.byteLength;
  }

  /** Adds a chunk; returns false (and changes nothing) when the id is there already. */
  add(id: Uint8Array, location: ChunkLocation): boolean {
    checkId(id);
    // Checked before anything changes: a refused add leaves the index as it was.
    const numbers = [
      checkUint32(location.offset, "offset"),
      checkUint32(location.length, "length"),
      checkUint32(location.rawLength, "rawLength"),
    ];
    if (this.find(id) !== EMPTY) return false;
    if ((this.count + 1) * 2 > this.table.length) this.rehash(this.table.length * 2);
    if (this.count === this.fields.length / FIELDS) this.grow(this.count * 2);
    const entry = this.count++;
    this.ids.set(id, entry * ID_BYTES);
    this.fields.set([this.packNumber(location.pack), ...numbers], entry * FIELDS);
    this.insert(entry);
    return true;
  }

  /**
   * Adds chunks from their stored records ({@link RECORD_BYTES} each, back to back), whose pack numbers
   * index `packs`, without an object per chunk: what loading an index does. An id held already (or
   * earlier in `records`) keeps its first location. Returns how many were added.
   * @throws StrongboxError `INVALID_INPUT` when `records` is not whole records, or one names a pack past
   *   `packs`; nothing is added then.
   */
  addRecords(records: Uint8Array, packs: readonly string[]): number {
    const added = records.length / RECORD_BYTES;
    if (!Number.isInteger(added)) {
      throw new StrongboxError(
        "INVALID_INPUT",
        `Chunk records are ${RECORD_BYTES} bytes each (got ${records.length} bytes).`,
      );
    }
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    for (let at = ID_BYTES; at < records.length; at += RECORD_BYTES) {
      const pack = view.getUint32(at, true);
      if (pack >= packs.length) {
        throw new StrongboxError(
          "INVALID_INPUT",
          `A chunk record names pack ${pack}, but only ${packs.length} are listed.`,
        );
      }
    }
    // The index's own number of each pack, taken when a chunk of it is added first.
    const numbers = new Array<number>(packs.length).fill(-1);
    const needed = this.count + added;
    if (needed > this.fields.length / FIELDS) this.grow(Math.max(needed, (this.fields.length / FIELDS) * 2));
    if (needed * 2 > this.table.length) {
      let table = this.table.length * 2;
      while (table < needed * 2) table *= 2;
      this.rehash(table);
    }
    const before = this.count;
    const mask = this.table.length - 1;
    nextRecord: for (let at = 0; at < records.length; at += RECORD_BYTES) {
      // One probe finds the id or the free slot it goes to (no entry is past the count here).
      let slot = slotOf(records, at) & mask;
      for (let held = this.table[slot]!; held !== EMPTY; held = this.table[slot]!) {
        if (idsEqual(this.ids, held * ID_BYTES, records, at)) continue nextRecord;
        slot = (slot + 1) & mask;
      }
      const entry = this.count++;
      const idAt = entry * ID_BYTES;
      for (let i = 0; i < ID_BYTES; i++) this.ids[idAt + i] = records[at + i]!;
      const fieldAt = entry * FIELDS;
      const pack = view.getUint32(at + ID_BYTES, true);
      if (numbers[pack]! < 0) numbers[pack] = this.packNumber(packs[pack]!);
      this.fields[fieldAt] = numbers[pack]!;
      this.fields[fieldAt + 1] = view.getUint32(at + ID_BYTES + 4, true);
      this.fields[fieldAt + 2] = view.getUint32(at + ID_BYTES + 8, true);
      this.fields[fieldAt + 3] = view.getUint32(at + ID_BYTES + 12, true);
      this.table[slot] = entry;
    }
    return this.count - before;
  }

  /** Where a chunk is, or `undefined` when the index does not hold it. */
  get(id: Uint8Array): ChunkLocation | undefined {
    checkId(id);
    const entry = this.find(id);
    return entry === EMPTY ? undefined : this.locationAt(entry);
  }

  has(id: Uint8Array): boolean {
    checkId(id);
    return this.find(id) !== EMPTY;
  }

  /**
   * A chunk's entry number, or -1 when the index does not hold it. Entries are numbered from 0 to
   * `size - 1` in the order they were added (the order of {@link entries}), and a number never changes, so
   * a caller can keep one bit or number per chunk in a typed array indexed by it (prune marks the chunks in
   * use in a bitset of `size` bits) instead of a map keyed by ids.
   */
  entryNumber(id: Uint8Array): number {
    checkId(id);
    return this.find(id);
  }

  /**
   * The id (a copy) and location of entry number `entry` (see {@link entryNumber}).
   * @throws RangeError when there is no such entry.
   */
  entryAt(entry: number): [Uint8Array, ChunkLocation] {
    if (!Number.isInteger(entry) || entry < 0 || entry >= this.count) {
      throw new RangeError(`There is no entry ${entry} in an index of ${this.count}.`);
    }
    return [this.ids.slice(entry * ID_BYTES, (entry + 1) * ID_BYTES), this.locationAt(entry)];
  }

  /** Every chunk id with its location, in the order they were added (entry number 0 first). */
  *entries(): IterableIterator<[Uint8Array, ChunkLocation]> {
    for (let entry = 0; entry < this.count; entry++) yield this.entryAt(entry);
  }

  /**
   * The chunks of any one pack, in the order they were added: a lookup built in one pass (a counting sort
   * of the entries by pack: 4 bytes a chunk, 4 a pack), so a caller can visit pack after pack without a
   * `Map` of arrays. It sees the entries there are now, not those added later.
   */
  byPack(): (pack: string) => [Uint8Array, ChunkLocation][] {
    const packs = this.packIds.length;
    const starts = new Uint32Array(packs + 1);
    for (let entry = 0; entry < this.count; entry++) {
      const pack = this.fields[entry * FIELDS]!;
      starts[pack + 1] = starts[pack + 1]! + 1;
    }
    for (let pack = 0; pack < packs; pack++) starts[pack + 1] = starts[pack + 1]! + starts[pack]!;
    const order = new Uint32Array(this.count);
    const next = starts.slice(0, packs);
    for (let entry = 0; entry < this.count; entry++) {
      const pack = this.fields[entry * FIELDS]!;
      order[next[pack]!] = entry;
      next[pack] = next[pack]! + 1;
    }
    return (pack) => {
      const number = this.packNumbers.get(pack);
      if (number === undefined) return [];
      const chunks: [Uint8Array, ChunkLocation][] = [];
      for (let at = starts[number]!; at < starts[number + 1]!; at++) {
        const entry = order[at]!;
        chunks.push([...this.entryAt(entry)]);
      }
      return chunks;
    };
  }

  /**
   * The ids held now, for chunk workers to look up without a message: the index moves its id bytes and
   * table into shared memory (a copy once, the old arrays then released, so no memory is added) and
   * gives them out. Later adds go on in place or into new arrays; either way the ids held now stay
   * exactly what the view answers (see {@link findEntry}).
   */
  share(): SharedIds {
    if (!(this.ids.buffer instanceof SharedArrayBuffer)) this.ids = inSharedMemory(this.ids);
    if (!(this.table.buffer instanceof SharedArrayBuffer)) this.table = inSharedMemory(this.table);
    return { ids: this.ids, table: this.table, count: this.count };
  }

  /**
   * A copy of this index, in memory of its own (never shared, whatever this one is): what a backup adds to
   * while the index it came from stays as it was.
   */
  clone(): ChunkIndex {
    const copy = new ChunkIndex();
    const capacity = Math.max(1, this.count);
    copy.ids = new Uint8Array(capacity * ID_BYTES);
    copy.ids.set(this.ids.subarray(0, this.count * ID_BYTES));
    copy.fields = new Uint32Array(capacity * FIELDS);
    copy.fields.set(this.fields.subarray(0, this.count * FIELDS));
    copy.table = new Int32Array(this.table);
    copy.count = this.count;
    for (const pack of this.packIds) copy.packNumber(pack);
    return copy;
  }

  /** Shrinks the arrays to what the entries need (after loading, say). */
  compact(): void {
    const capacity = Math.max(1, this.count);
    if (capacity !== this.fields.length / FIELDS) this.grow(capacity);
    let table = 2;
    while (table < this.count * 2) table *= 2;
    if (table !== this.table.length) this.rehash(table);
  }

  private locationAt(entry: number): ChunkLocation {
    const at = entry * FIELDS;
    return {
      pack: this.packIds[this.fields[at]!]!,
      offset: this.fields[at + 1]!,
      length: this.fields[at + 2]!,
      rawLength: this.fields[at + 3]!,
    };
  }

  private packNumber(pack: string): number {
    let number = this.packNumbers.get(pack);
    if (number === undefined) {
      number = this.packIds.push(pack) - 1;
      this.packNumbers.set(pack, number);
    }
    return number;
  }

  /** The entry holding `id`, or EMPTY. */
  private find(id: Uint8Array): number {
    return findEntry(this.table, this.ids, this.count, id);
  }

  private insert(entry: number): void {
    const mask = this.table.length - 1;
    let slot = slotOf(this.ids, entry * ID_BYTES) & mask;
    while (this.table[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.table[slot] = entry;
  }

  private grow(capacity: number): void {
    const ids = new Uint8Array(capacity * ID_BYTES);
    ids.set(this.ids.subarray(0, this.count * ID_BYTES));
    const fields = new Uint32Array(capacity * FIELDS);
    fields.set(this.fields.subarray(0, this.count * FIELDS));
    this.ids = ids;
    this.fields = fields;
  }

  private rehash(size: number): void {
    this.table = new Int32Array(size).fill(EMPTY);
    for (let entry = 0; entry < this.count; entry++) this.insert(entry);
  }
}

/** A copy of `array` in a SharedArrayBuffer. */
function inSharedMemory(array: Uint8Array): Uint8Array;
function inSharedMemory(array: Int32Array): Int32Array;
function inSharedMemory(array: Uint8Array | Int32Array): Uint8Array | Int32Array {
  const buffer = new SharedArrayBuffer(array.byteLength);
  new Uint8Array(buffer).set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return array instanceof Int32Array ? new Int32Array(buffer) : new Uint8Array(buffer);
}

function checkId(id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length !== ID_BYTES) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `A chunk id is ${ID_BYTES} bytes (got ${id?.length ?? typeof id}).`,
    );
  }
}

function checkUint32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `A chunk's ${name} must be a whole number below 4 GiB (got ${value}).`,
    );
  }
  return value;
}
