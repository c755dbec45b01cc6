import { gearTable } from "./gear.js";

/** Sizes of the chunks a {@link Chunker} cuts, in bytes. */
export interface ChunkSizes {
  /** No cut before this many bytes (the last chunk of a file may be shorter). */
  min: number;
  /** The size most cuts land near: a power of two. */
  average: number;
  /** A cut at this size whatever the content. */
  max: number;
}

/** Options of {@link createChunker}. */
export interface ChunkerOptions extends ChunkSizes {
  /** The rolling hash's table (see {@link gearTable}); default: the table of the seed `strongbox`. */
  gear?: Uint32Array;
}

/**
 * Cuts one file's bytes into content-defined chunks (FastCDC with normalized chunking): a cut falls where
 * a rolling hash of the last 32 bytes has chosen bits all zero, so an insertion or a rewrite moves only the
 * cuts near it and the chunks around it come out the same as before. Bytes arrive in any slices; the cuts
 * do not depend on how the stream was sliced. A chunk never spans two files: use one chunker per file, or
 * {@link Chunker.end} between files.
 */
export interface Chunker {
  /**
   * Takes the next bytes of the file and returns the lengths of the chunks they completed, in order (the
   * bytes of a chunk may have come in several pushes). What is left waits for more bytes or `end`.
   */
  push(bytes: Uint8Array): number[];
  /** Ends the file: the length of its last chunk (0 when nothing is pending), and a fresh start. */
  end(): number;
}

/**
 * Creates a {@link Chunker}.
 * @throws RangeError when the sizes are not `0 < min <= average <= max` with `average` a power of two
 *   from 64 bytes to 256 MiB.
 */
export function createChunker(options: ChunkerOptions): Chunker {
  const { min, average, max } = checkSizes(options);
  const gear = options.gear ?? DEFAULT_GEAR;
  const bits = Math.log2(average);
  // Normalized chunking: before the average size a cut is four times rarer, after it four times likelier,
  // which gathers chunk sizes near the average.
  const hardMask = topBits(bits + 2);
  const easyMask = topBits(bits - 2);
  let hash = 0;
  let pending = 0;
  // The loops over bytes are small functions of their own, called once per chunk or so: V8 compiles such a
  // function to machine code after a few calls (about 5 ms into a fresh thread), where one loop inside
  // `push` waited for on-stack replacement (about 25 ms, every thread), and then ran a third slower.
  /** Rolls bytes `from` to `to` into the hash. */
  const roll = (bytes: Uint8Array, from: number, to: number): void => {
    let h = hash;
    for (let at = from; at < to; at++) h = ((h << 1) + gear[bytes[at]!]!) | 0;
    hash = h;
  };
  /** Rolls bytes from `from` until the hash has the `mask` bits all zero: the index after that byte, or -1 at `to`. */
  const seek = (bytes: Uint8Array, from: number, to: number, mask: number): number => {
    let h = hash;
    for (let at = from; at < to; at++) {
      h = ((h << 1) + gear[bytes[at]!]!) | 0;
      if ((h & mask) === 0) {
        hash = h;
        return at + 1;
      }
    }
    hash = h;
    return -1;
  };
  return {
    push(bytes) {
      const cuts: number[] = [];
      let at = 0;
      while (at < bytes.length) {
        // `pending` bytes of the chunk came before `at`. Bytes before `min` cannot end it, and the hash
        // only looks 32 bytes back: all but the last 32 of those are skipped, the rest only hashed.
        const chunkStart = at - pending;
        at = Math.max(at, chunkStart + min - 32);
        const warm = Math.min(bytes.length, chunkStart + min);
        if (at < warm) {
          roll(bytes, at, warm);
          at = warm;
        }
        // Then cuts are looked for: with the hard mask up to the average size, the easy one up to max.
        const hard = Math.min(bytes.length, chunkStart + average);
        let cut = at < hard ? seek(bytes, at, hard, hardMask) : -1;
        if (cut === -1) {
          at = Math.max(at, hard);
          const easy = Math.min(bytes.length, chunkStart + max);
          cut = at < easy ? seek(bytes, at, easy, easyMask) : -1;
          if (cut === -1) {
            at = Math.max(at, easy);
            if (at === chunkStart + max) cut = at;
          }
        }
        if (cut === -1) {
          pending = bytes.length - chunkStart;
          break;
        }
        cuts.push(cut - chunkStart);
        pending = 0;
        hash = 0;
        at = cut;
      }
      return cuts;
    },
    end() {
      const last = pending;
      pending = 0;
      hash = 0;
      return last;
    },
  };
}

const DEFAULT_GEAR = gearTable("strongbox");

/** A mask of the `count` highest bits of a 32-bit word: the bytes longest in the hash decide. */
function topBits(count: number): number {
  return count >= 32 ? -1 : ~((1 << (32 - count)) - 1) | 0;
}

function checkSizes({ min, average, max }: ChunkSizes): ChunkSizes {
  const whole = (value: number) => Number.isSafeInteger(value) && value > 0;
  if (!whole(min) || !whole(average) || !whole(max) || min > average || average > max) {
    throw new RangeError(
      `Chunk sizes must be whole numbers with 0 < min <= average <= max (got ${min}, ${average}, ${max}).`,
    );
  }
  const bits = Math.log2(average);
  if (!Number.isInteger(bits) || bits < 6 || bits > 28) {
    throw new RangeError(
      `The average chunk size must be a power of two from 64 B to 256 MiB (got ${average}).`,
    );
  }
  return { min, average, max };
}
