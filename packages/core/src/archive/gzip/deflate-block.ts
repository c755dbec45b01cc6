import { constants, deflateRawSync, type ZlibOptions } from "node:zlib";
import { hasHighEntropy, STORE_ABOVE_RATIO, sampleBlock } from "./deflate-incompressible.js";
import { storedSize, writeStoredDeflateBlocks } from "./deflate-stored.js";

/** How one block is turned into deflate data. */
export interface DeflateBlockOptions {
  /** zlib level 0-9; 0 stores. */
  level: number;
  /** The 32 KiB of input just before this block, so matches can reach back across the block border. */
  dictionary?: Uint8Array | undefined;
  /** Store blocks that a sample shows will not shrink, instead of deflating them. */
  storeIncompressible: boolean;
  /**
   * Byte ranges of the block known to be incompressible (file contents the tar producer sampled), as
   * sorted, disjoint `[start, end)` pairs. When given, exactly these ranges are stored and the rest is
   * deflated, instead of judging the block as a whole.
   */
  incompressible?: Uint32Array | undefined;
}

/** Deflate's window: how much earlier input a block may refer to (its dictionary). */
export const WINDOW_BYTES = 32 * 1024;

/**
 * Whether a block whose producer marked `incompressible` mixes stored and deflated ranges: such blocks
 * go to the deflate workers, or are deflated by their producer (the pack worker) while those are busy.
 */
export function mixesStoredAndDeflated(length: number, incompressible: Uint32Array): boolean {
  const allStored = incompressible.length === 2 && incompressible[0] === 0 && incompressible[1] === length;
  return incompressible.length > 0 && !allStored;
}

/** Trial deflates run at the fastest level: they only need to tell "shrinks" from "does not". */
const TRIAL_LEVEL = 1;

/** Part of a block's output: deflate data, or bytes to wrap in stored blocks. */
type Piece = { deflated: Uint8Array } | { stored: Uint8Array };

/**
 * Deflates one block (synchronously: this runs in a deflate worker) into non-final, byte-aligned deflate
 * blocks, so the outputs of consecutive blocks can be concatenated in order behind one gzip header.
 * The output starts at offset 0 of memory of its own (as zlib allocated it, or exactly as long as it is),
 * so it can be transferred; only a small one (below `Buffer.poolSize`) may lie in Node's shared pool.
 */
export function deflateBlock(block: Uint8Array, options: DeflateBlockOptions): Uint8Array {
  return join(pieces(block, options));
}

/**
 * `output` of {@link deflateBlock} in memory that can be moved to another thread: a small one may be a
 * slice of Node's shared pool, which must not be moved, and is copied first.
 */
export function movable(output: Uint8Array): Uint8Array {
  return output.length > Buffer.poolSize ? output : new Uint8Array(output);
}

function pieces(block: Uint8Array, options: DeflateBlockOptions): Piece[] {
  if (options.level === 0) return [{ stored: block }];
  if (options.incompressible !== undefined) return deflateAround(block, options.incompressible, options);
  if (options.storeIncompressible && looksIncompressible(block)) return [{ stored: block }];
  return [{ deflated: deflatePiece(block, options.level, options.dictionary) }];
}

/**
 * Stores the given ranges and deflates what lies between them. A deflate stream may switch between
 * stored and compressed blocks at any byte boundary, since every piece ends byte-aligned; a piece that
 * follows a stored range starts without a dictionary, because the window it could refer to holds the
 * stored bytes, which its own zlib stream never saw.
 */
function deflateAround(block: Uint8Array, ranges: Uint32Array, options: DeflateBlockOptions): Piece[] {
  const result: Piece[] = [];
  let at = 0;
  const deflateUpTo = (end: number) => {
    if (end > at) {
      const dictionary = at === 0 ? options.dictionary : undefined;
      result.push({ deflated: deflatePiece(block.subarray(at, end), options.level, dictionary) });
    }
  };
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    deflateUpTo(ranges[i]!);
    at = ranges[i + 1]!;
    result.push({ stored: block.subarray(ranges[i]!, at) });
  }
  deflateUpTo(block.length);
  return result;
}

/**
 * The pieces' output in one exact-size buffer; stored bytes are copied once, straight into it. A lone
 * deflated piece is returned as zlib made it: copying it would only leave one more buffer behind for
 * this worker's garbage collector, which runs rarely (it sees little JavaScript allocation).
 */
function join(parts: Piece[]): Uint8Array {
  const only = parts.length === 1 ? parts[0]! : undefined;
  if (only !== undefined && "deflated" in only) return only.deflated;
  let total = 0;
  for (const part of parts) total += "stored" in part ? storedSize(part.stored.length) : part.deflated.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    if ("stored" in part) at = writeStoredDeflateBlocks(part.stored, out, at);
    else {
      out.set(part.deflated, at);
      at += part.deflated.length;
    }
  }
  return out;
}

/** A high-entropy sample that a quick deflate cannot shrink by 3% or more. */
function looksIncompressible(block: Uint8Array): boolean {
  const sample = sampleBlock(block);
  if (!hasHighEntropy(sample)) return false;
  const trial = deflateRawSync(sample, { level: TRIAL_LEVEL, finishFlush: constants.Z_SYNC_FLUSH });
  return trial.length > sample.length * STORE_ABOVE_RATIO;
}

function deflatePiece(data: Uint8Array, level: number, dictionary: Uint8Array | undefined): Buffer {
  return deflateRawSync(data, pieceOptions(data.length, level, dictionary));
}

function pieceOptions(inputBytes: number, level: number, dictionary: Uint8Array | undefined): ZlibOptions {
  const options: ZlibOptions = {
    level,
    finishFlush: constants.Z_SYNC_FLUSH,
    // One output buffer big enough for the whole piece: zlib then never has to grow its output.
    chunkSize: outputBound(inputBytes),
  };
  if (dictionary !== undefined) options.dictionary = dictionary;
  return options;
}

/** zlib's deflateBound for stored-worst-case data, plus room for the sync-flush marker. */
function outputBound(inputBytes: number): number {
  return inputBytes + (inputBytes >> 12) + (inputBytes >> 14) + (inputBytes >> 25) + 64;
}
