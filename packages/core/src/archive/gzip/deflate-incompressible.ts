/**
 * Cheap signs that data will not shrink (already-compressed data: archives, jars, media, `.gz` logs).
 * Deflating such data costs about as much CPU as text and saves nothing; storing it is ~15x faster.
 */

/** Bytes looked at per block: enough for a stable byte histogram and a meaningful trial deflate. */
const SAMPLE_BYTES = 32 * 1024;
/** The sample is taken as this many slices spread over the block, so one file's header cannot decide. */
const SAMPLE_SLICES = 8;
/** Bytes looked at per file (per stretch of a file inside one block): a histogram only, no trial. */
const FILE_SAMPLE_BYTES = 1024;
const FILE_SAMPLE_SLICES = 4;
/**
 * Order-0 entropy, in bits per byte, above which a sample may be incompressible. Random bytes measure
 * ~7.99 on a 32 KiB sample and ~7.8 on 1 KiB; text ~4.5-5 and executables ~6, so those never pass.
 */
export const HIGH_ENTROPY_BITS = 7.5;
/** A trial output above this share of its input means deflate would save under 3%: store instead. */
export const STORE_ABOVE_RATIO = 0.97;

/** Up to 32 KiB of `block`, as slices spread evenly over it (the block itself when it is small). */
export function sampleBlock(block: Uint8Array): Uint8Array {
  if (block.length <= SAMPLE_BYTES) return block;
  const sliceBytes = SAMPLE_BYTES / SAMPLE_SLICES;
  const stride = Math.floor((block.length - sliceBytes) / (SAMPLE_SLICES - 1));
  const sample = new Uint8Array(SAMPLE_BYTES);
  for (let slice = 0; slice < SAMPLE_SLICES; slice++) {
    const start = slice * stride;
    sample.set(block.subarray(start, start + sliceBytes), slice * sliceBytes);
  }
  return sample;
}

/**
 * True when the sample's byte histogram is nearly flat. Necessary but not sufficient for deflate to
 * fail (repeated random bytes are flat yet compress), so a trial deflate has the last word.
 */
export function hasHighEntropy(sample: Uint8Array): boolean {
  const counts = new Uint32Array(256);
  for (let i = 0; i < sample.length; i++) counts[sample[i]!]!++;
  return entropyBits(counts, sample.length) >= HIGH_ENTROPY_BITS;
}

/** Reused by {@link looksCompressed}, which runs once per file: no allocation per call. */
const fileCounts = new Uint32Array(256);

/**
 * True when `data[start, end)` (one file's bytes) looks already compressed: 1 KiB taken as slices
 * spread over it have a nearly flat histogram. No trial deflate: at one call per file that would cost
 * more than it saves, and a wrong guess costs only ratio, never correctness.
 */
export function looksCompressed(data: Uint8Array, start: number, end: number): boolean {
  return sampleEntropyBits(data, start, end) >= HIGH_ENTROPY_BITS;
}

/**
 * Order-0 entropy, in bits per byte, of 1 KiB of `data[start, end)` taken as slices spread over it (all
 * of it when shorter): what {@link looksCompressed} decides on, for callers that choose more finely
 * (text measures ~4-5, executables ~6, compressed data with padding between ~6.5 and 7.5).
 */
export function sampleEntropyBits(data: Uint8Array, start: number, end: number): number {
  const length = end - start;
  const counts = fileCounts.fill(0);
  if (length <= FILE_SAMPLE_BYTES) {
    for (let i = start; i < end; i++) counts[data[i]!]!++;
    return entropyBits(counts, length);
  }
  const sliceBytes = FILE_SAMPLE_BYTES / FILE_SAMPLE_SLICES;
  const stride = Math.floor((length - sliceBytes) / (FILE_SAMPLE_SLICES - 1));
  for (let slice = 0; slice < FILE_SAMPLE_SLICES; slice++) {
    const from = start + slice * stride;
    for (let i = from; i < from + sliceBytes; i++) counts[data[i]!]!++;
  }
  return entropyBits(counts, FILE_SAMPLE_BYTES);
}

function entropyBits(counts: Uint32Array, total: number): number {
  let bits = 0;
  for (const count of counts) {
    if (count === 0) continue;
    const p = count / total;
    bits -= p * Math.log2(p);
  }
  return bits;
}
