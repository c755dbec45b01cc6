import { constants, deflateRaw, type ZlibOptions } from "node:zlib";
import { hasHighEntropy, STORE_ABOVE_RATIO, sampleBlock } from "./deflate-incompressible.js";
import { storedDeflateBlocks } from "./deflate-stored.js";

/** How one block is turned into deflate data. */
export interface DeflateBlockOptions {
  /** zlib level 0-9; 0 stores. */
  level: number;
  /** The 32 KiB of input just before this block, so matches can reach back across the block border. */
  dictionary?: Uint8Array | undefined;
  /** Store blocks that a sample shows will not shrink, instead of deflating them. */
  storeIncompressible: boolean;
}

/** Trial deflates run at the fastest level: they only need to tell "shrinks" from "does not". */
const TRIAL_LEVEL = 1;

/**
 * Deflates one block on the libuv thread pool as a non-final, byte-aligned piece of a raw deflate
 * stream (sync flush), so pieces can be concatenated in order behind one gzip header.
 */
export async function deflateBlock(block: Buffer, options: DeflateBlockOptions): Promise<Buffer> {
  if (options.level === 0) return storedDeflateBlocks(block);
  if (options.storeIncompressible && (await looksIncompressible(block))) return storedDeflateBlocks(block);
  return deflateRawOnPool(block, {
    level: options.level,
    ...(options.dictionary === undefined ? {} : { dictionary: options.dictionary }),
    // One output buffer big enough for the whole block: each filled buffer is a pool round trip.
    chunkSize: outputBound(block.length),
  });
}

/** A high-entropy sample that a quick deflate cannot shrink by 3% or more. */
async function looksIncompressible(block: Buffer): Promise<boolean> {
  const sample = sampleBlock(block);
  if (!hasHighEntropy(sample)) return false;
  const trial = await deflateRawOnPool(sample, { level: TRIAL_LEVEL });
  return trial.length > sample.length * STORE_ABOVE_RATIO;
}

/** zlib's deflateBound for stored-worst-case data, plus room for the sync-flush marker. */
function outputBound(inputBytes: number): number {
  return inputBytes + (inputBytes >> 12) + (inputBytes >> 14) + (inputBytes >> 25) + 64;
}

function deflateRawOnPool(data: Uint8Array, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(data, { ...options, finishFlush: constants.Z_SYNC_FLUSH }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}
