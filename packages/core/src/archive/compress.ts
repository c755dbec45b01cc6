import { availableParallelism } from "node:os";
import { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import { abortError, StrongboxError } from "../errors.js";
import {
  type DeflateBlockOptions,
  deflateBlockOnPool,
  mixesStoredAndDeflated,
  WINDOW_BYTES,
} from "./deflate-block.js";
import { cutBlocks } from "./deflate-blocks.js";
import { DeflatePool } from "./deflate-pool.js";
import { storedDeflateBlocks } from "./deflate-stored.js";
import { FINAL_DEFLATE_BLOCK, gzipHeader, gzipTrailer } from "./gzip-member.js";

/** Options of {@link compress}. */
export interface CompressOptions {
  /** gzip level 0-9. */
  level: number;
  /** Stops compressing; the stream then errors with code `ABORTED`. */
  signal?: AbortSignal;
  /**
   * Input bytes deflated as one unit, 32 KiB to 64 MiB (default 512 KiB). Smaller blocks spend more
   * CPU setting up zlib; each block in flight costs about twice its size in memory.
   */
  blockSize?: number;
  /**
   * Blocks in flight, 1-64 (default 8), deflated on the libuv thread pool (or, for blocks that mix
   * stored and deflated ranges, by deflate worker threads: one per core but one, since the pack worker
   * deflates too). More blocks than threads keeps them busy while the oldest block, which output order
   * waits for, finishes.
   */
  concurrency?: number;
  /**
   * Told, each time it changes, how many blocks wait at the deflate workers with no worker free to take
   * them up, so a producer able to deflate blocks itself (see {@link InputBlock.deflated}) helps meanwhile.
   */
  onDeflateWaiting?: ((blocks: number) => void) | undefined;
  /**
   * Store blocks that a sample shows will not shrink by 3% instead of deflating them (default true):
   * already-compressed data then costs a copy instead of a full deflate.
   */
  storeIncompressible?: boolean;
}

/** Default input bytes per block. */
export const DEFAULT_BLOCK_SIZE = 512 * 1024;
/** Default blocks in flight. */
export const DEFAULT_CONCURRENCY = 8;

interface Settings {
  level: number;
  blockSize: number;
  concurrency: number;
  storeIncompressible: boolean;
}

/** A block of input, with what its producer knows about it. */
export interface InputBlock {
  /**
   * The bytes. Their ArrayBuffer is handed to a deflate worker, so it must be the block's own; a block
   * in a SharedArrayBuffer is shared instead, and must then stay untouched until `release` is called.
   */
  data: Buffer;
  /** Sorted, disjoint `[start, end)` pairs of bytes known not to shrink (stored as they are). */
  incompressible?: Uint32Array | undefined;
  /** Called, in block order, once the block's bytes are no longer read. */
  release?: (() => void) | undefined;
  /**
   * The block already deflated by its producer, as this compressor would have: at the same level, with
   * the last 32 KiB of the block before it as dictionary, `incompressible` stored, ending byte-aligned.
   */
  deflated?: Buffer | undefined;
}

/** Where the blocks that mix stored and deflated ranges go. */
interface MixedBlockDeflater {
  deflate(block: Buffer, options: DeflateBlockOptions): Promise<Buffer>;
}

/** One block being deflated; settles without ever rejecting, so a failure waits for its turn. */
interface Job {
  settled: Promise<void>;
  release: (() => void) | undefined;
  output?: Buffer;
  error?: unknown;
}

/**
 * gzip-compresses a byte stream into one gzip member, pigz-style: the input is cut into blocks that are
 * deflated in parallel on the libuv thread pool, each primed with the 32 KiB of input before it (so the
 * ratio stays within a hair of single-stream gzip), and emitted in order. Reading from `source` follows
 * the consumer: at most `concurrency` blocks are in flight and nothing more is read while the output
 * is not being consumed. Errors from `source` and aborts of `signal` error the returned stream.
 *
 * @throws {StrongboxError} `INVALID_INPUT` when an option is out of range.
 */
export function compress(source: AsyncIterable<Uint8Array>, options: CompressOptions): Readable {
  const settings = resolveSettings(options);
  return compressBlocks(wrapBlocks(cutBlocks(source, settings.blockSize)), options);
}

async function* wrapBlocks(blocks: AsyncIterable<Buffer>): AsyncGenerator<InputBlock> {
  for await (const data of blocks) yield { data };
}

/**
 * {@link compress} for input already cut into blocks, which may say which of their bytes will not
 * shrink (the tar producer knows where each file's content lies). `blockSize` is ignored: each block
 * is deflated as given.
 */
export function compressBlocks(source: AsyncIterable<InputBlock>, options: CompressOptions): Readable {
  const settings = resolveSettings(options);
  const { signal } = options;
  let started = false;
  /** The consumer asked for more since the last push() that returned false. */
  let wanted = false;
  let onDemand: (() => void) | undefined;
  let onStop: (() => void) | undefined;
  let pool: DeflatePool | undefined;
  let stopped = false;
  /** Started on first use: only blocks that mix stored and deflated ranges need it. */
  const workers: MixedBlockDeflater = {
    async deflate(block, blockOptions) {
      if (stopped) throw abortError(signal, "Compressing the archive");
      pool ??= new DeflatePool(Math.max(1, availableParallelism() - 1));
      const running = pool;
      const deflated = running.deflate(block, blockOptions);
      options.onDeflateWaiting?.(running.waiting);
      try {
        return await deflated;
      } finally {
        options.onDeflateWaiting?.(running.waiting);
      }
    },
  };
  const stopWorkers = () => {
    stopped = true;
    pool?.close().catch(() => {});
    pool = undefined;
  };

  const output = new Readable({
    highWaterMark: settings.blockSize,
    read() {
      wanted = true;
      onDemand?.();
      if (started) return;
      started = true;
      run().catch((error: unknown) => output.destroy(error as Error));
    },
    destroy(error, callback) {
      signal?.removeEventListener("abort", abort);
      stopWorkers();
      onDemand?.();
      onStop?.();
      callback(error);
    },
  });
  const abort = () => output.destroy(abortError(signal, "Compressing the archive"));
  if (signal?.aborted) abort();
  else signal?.addEventListener("abort", abort, { once: true });

  /** Resolves once the consumer wants more (or the stream is destroyed). */
  const demand = () =>
    new Promise<void>((resolve) => {
      onDemand = resolve;
      if (wanted) resolve();
    });
  const push = (chunk: Buffer | null) => {
    wanted = output.push(chunk);
  };

  /** The next block, or undefined when the stream is destroyed first (a stalled source cannot hold it). */
  const nextBlock = (blocks: AsyncIterator<InputBlock>) =>
    new Promise<IteratorResult<InputBlock> | undefined>((resolve, reject) => {
      onStop = () => resolve(undefined);
      blocks.next().then(resolve, reject);
    });

  async function run(): Promise<void> {
    const blocks = source[Symbol.asyncIterator]();
    try {
      await pump(blocks, workers);
    } finally {
      stopWorkers();
      // Closes the source too; if a read is still pending this completes once it settles.
      blocks.return?.(undefined)?.catch(() => {});
    }
  }

  async function pump(blocks: AsyncIterator<InputBlock>, workers: MixedBlockDeflater): Promise<void> {
    const jobs: Job[] = [];
    let crc = 0;
    let inputBytes = 0;
    let dictionary: Buffer | undefined;
    let sourceDone = false;
    // Dictionaries live in shared memory that is reused in turn instead of being copied for each
    // worker (which would leave garbage behind). Slot n%(concurrency+1) is written when block n is
    // taken, and not again before block n+concurrency+1, which cannot start until the job that reads
    // it (block n+1's) has been taken, in order.
    const windowSlots = settings.concurrency + 1;
    const windows = new SharedArrayBuffer(windowSlots * WINDOW_BYTES);
    let blockCount = 0;
    push(gzipHeader(settings.level));

    for (;;) {
      if (output.destroyed) return;
      while (wanted && jobs.length > 0 && isSettled(jobs[0]!)) push(takeOutput(jobs.shift()!));
      if (!sourceDone && jobs.length < settings.concurrency) {
        const next = await nextBlock(blocks);
        if (next === undefined) return;
        if (next.done) sourceDone = true;
        else {
          const block = next.value.data;
          crc = crc32(block, crc);
          inputBytes += block.length;
          // Taken before the block's memory moves to a worker.
          const tail = block.subarray(Math.max(0, block.length - WINDOW_BYTES));
          const slot = (blockCount++ % windowSlots) * WINDOW_BYTES;
          const nextDictionary = Buffer.from(windows, slot, tail.length);
          nextDictionary.set(tail);
          jobs.push(startJob(next.value, dictionary, settings, workers));
          dictionary = nextDictionary;
        }
        continue;
      }
      if (sourceDone && jobs.length === 0) break;
      await (wanted ? jobs[0]!.settled : demand());
    }
    if (output.destroyed) return;
    push(Buffer.concat([FINAL_DEFLATE_BLOCK, gzipTrailer(crc, inputBytes)]));
    push(null);
  }

  return output;
}

function startJob(
  block: InputBlock,
  dictionary: Buffer | undefined,
  settings: Settings,
  workers: MixedBlockDeflater,
): Job {
  const job: Job = { settled: Promise.resolve(), release: block.release };
  job.settled = deflate(block, dictionary, settings, workers).then(
    (output) => {
      job.output = output;
    },
    (error: unknown) => {
      job.error = error ?? new Error("Deflate failed.");
    },
  );
  return job;
}

/**
 * Where a block is deflated: nowhere when its producer did it, stored here when it is all
 * incompressible (or at level 0), as a whole on the libuv pool when it has no range to store, and by a
 * deflate worker when it mixes both (a worker deflates the pieces between stored ranges without a round
 * trip per piece).
 */
async function deflate(
  block: InputBlock,
  dictionary: Buffer | undefined,
  settings: Settings,
  workers: MixedBlockDeflater,
): Promise<Buffer> {
  const { data, incompressible: ranges } = block;
  if (block.deflated !== undefined) return block.deflated;
  if (settings.level === 0) return storedDeflateBlocks(data);
  const options = { level: settings.level, storeIncompressible: settings.storeIncompressible, dictionary };
  if (ranges === undefined) return deflateBlockOnPool(data, options);
  // The producer sampled every file: with nothing marked, a trial of its own would only cost time.
  if (ranges.length === 0) return deflateBlockOnPool(data, { ...options, storeIncompressible: false });
  if (!mixesStoredAndDeflated(data.length, ranges)) return storedDeflateBlocks(data);
  return workers.deflate(data, { ...options, incompressible: ranges });
}

function isSettled(job: Job): boolean {
  return job.output !== undefined || job.error !== undefined;
}

function takeOutput(job: Job): Buffer {
  if (job.error !== undefined) throw job.error;
  // In block order, as a ring of blocks needs it (a later block may finish first).
  job.release?.();
  return job.output!;
}

function resolveSettings(options: CompressOptions): Settings {
  const settings: Settings = {
    level: options.level,
    blockSize: options.blockSize ?? DEFAULT_BLOCK_SIZE,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    storeIncompressible: options.storeIncompressible ?? true,
  };
  requireIntegerIn("level", settings.level, 0, 9);
  requireIntegerIn("blockSize", settings.blockSize, WINDOW_BYTES, 64 * 1024 * 1024);
  requireIntegerIn("concurrency", settings.concurrency, 1, 64);
  return settings;
}

function requireIntegerIn(name: string, value: number, min: number, max: number): void {
  if (Number.isInteger(value) && value >= min && value <= max) return;
  throw new StrongboxError(
    "INVALID_INPUT",
    `The compression ${name} must be an integer from ${min} to ${max}.`,
    {
      details: { [name]: value, min, max },
    },
  );
}
