import { corruptArchive, limitExceeded } from "../extract/extract-errors.js";

/** Where to write one slice of a sparse file's stored data. */
export type PlaceData = (slice: Uint8Array, position: number) => void;

/**
 * The data runs of a sparse file (GNU tar `--sparse`, bsdtar): where each run of stored bytes goes in
 * the real file; what lies between runs is a hole. Runs are kept as numbers in one typed array (16 bytes
 * a run), at most `maxRuns` of them, and checked as they come: in order, not overlapping, inside the
 * real size. The stored data then streams through {@link SparseMap.place}.
 */
export class SparseMap {
  /** Offsets and lengths, interleaved, of the runs that hold data. */
  private runs = new Float64Array(32);
  private stored = 0;
  private listed = 0;
  private storedSum = 0;
  /** Where the last run ended: the next one may not start before it. */
  private end = 0;
  private cursor = 0;
  private cursorUsed = 0;

  constructor(
    /** The file's real size, holes included. */
    readonly realSize: number,
    private readonly maxRuns: number,
  ) {
    if (realSize < 0) throw corruptArchive("a sparse file has a negative size");
  }

  /** Bytes of data the archive stores for this file: the sum of the run lengths. */
  get storedBytes(): number {
    return this.storedSum;
  }

  /** Refuses, before reading them, a map announcing more runs than `maxRuns`. */
  expectRuns(count: number): void {
    if (count > this.maxRuns) throw limitExceeded("maxSparseRuns", count, this.maxRuns);
  }

  /** Adds the next run; throws `INVALID_INPUT` for a malformed map or one past `maxRuns`. */
  add(offset: number, length: number): void {
    if (++this.listed > this.maxRuns) throw limitExceeded("maxSparseRuns", this.listed, this.maxRuns);
    if (length < 0) throw corruptArchive("a sparse file's map holds a negative length");
    if (offset < this.end) throw corruptArchive("a sparse file's map goes backwards or overlaps itself");
    if (offset + length > this.realSize)
      throw corruptArchive("a sparse file's map runs past the file's size");
    this.end = offset + length;
    this.storedSum += length;
    if (length === 0) return;
    if (this.stored * 2 === this.runs.length) {
      const grown = new Float64Array(this.runs.length * 2);
      grown.set(this.runs);
      this.runs = grown;
    }
    this.runs[this.stored * 2] = offset;
    this.runs[this.stored * 2 + 1] = length;
    this.stored++;
  }

  /** Hands the next slice of stored data to `emit`, cut where runs end, each at its place in the file. */
  place(chunk: Uint8Array, emit: PlaceData): void {
    let used = 0;
    while (used < chunk.length) {
      const offset = this.runs[this.cursor * 2];
      const length = this.runs[this.cursor * 2 + 1];
      if (this.cursor >= this.stored || offset === undefined || length === undefined) {
        throw corruptArchive("a sparse file stores more data than its map places");
      }
      const take = Math.min(length - this.cursorUsed, chunk.length - used);
      emit(chunk.subarray(used, used + take), offset + this.cursorUsed);
      used += take;
      this.cursorUsed += take;
      if (this.cursorUsed === length) {
        this.cursor++;
        this.cursorUsed = 0;
      }
    }
  }
}

/** Parses one number of a sparse map written in decimal (pax formats 0.0, 0.1 and 1.0). */
export function parseSparseNumber(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw corruptArchive("a sparse file's map holds a bad number", { value: text.slice(0, 40) });
  }
  return value;
}

/** Longest decimal number accepted in a 1.0 map (safe integers have at most 16 digits). */
const MAX_DIGITS = 20;

/**
 * Reads the sparse map that pax format 1.0 (GNU tar, bsdtar) puts at the start of a file's data: the
 * number of runs, then each run's offset and length, every number on its own line, the whole padded
 * with NULs to a 512-byte boundary. Streams: the bytes may come in slices of any size.
 */
export class SparseMapText {
  /** True once the map and its padding have been read; the file's stored data comes next. */
  done = false;
  private readonly map: SparseMap;
  private digits = "";
  private count: number | undefined;
  private offset: number | undefined;
  private numbersLeft = 1;
  private read = 0;

  constructor(map: SparseMap) {
    this.map = map;
  }

  /** Reads from `bytes`; returns how many belong to the map (all of them until it is done). */
  consume(bytes: Uint8Array): number {
    let i = 0;
    while (i < bytes.length && !this.done) {
      if (this.numbersLeft === 0) {
        // Padding to the end of the block.
        const skip = Math.min((512 - (this.read % 512)) % 512, bytes.length - i);
        i += skip;
        this.read += skip;
        if (this.read % 512 === 0) this.done = true;
        continue;
      }
      const byte = bytes[i++] ?? 0;
      this.read++;
      if (byte !== 0x0a) {
        if (byte < 0x30 || byte > 0x39 || this.digits.length >= MAX_DIGITS) {
          throw corruptArchive("a sparse file's map holds a bad number");
        }
        this.digits += String.fromCharCode(byte);
        continue;
      }
      this.takeNumber(parseSparseNumber(this.digits));
      this.digits = "";
    }
    return i;
  }

  private takeNumber(value: number): void {
    this.numbersLeft--;
    if (this.count === undefined) {
      this.map.expectRuns(value);
      this.count = value;
      this.numbersLeft = value * 2;
    } else if (this.offset === undefined) this.offset = value;
    else {
      this.map.add(this.offset, value);
      this.offset = undefined;
    }
    if (this.numbersLeft === 0 && this.read % 512 === 0) this.done = true;
  }
}
