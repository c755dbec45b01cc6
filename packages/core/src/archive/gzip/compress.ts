import { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import { abortError, StrongboxError } from "../../errors.js";
import { type ArchiveWorkers, createArchiveWorkers } from "../archive-workers.js";
import { type DeflateBlockOptions, WINDOW_BYTES } from "./deflate-block.js";
import { cutBlocks } from "./deflate-blocks.js";
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
   * Blocks in flight, 1-64 (default 8), deflated by the deflate threads of `workers`. More blocks than
   * threads keeps them busy while the oldest block, which output order waits for, finishes.
   */
  concurrency?: number;
  /** The threads that deflate the blocks (default: a pool of this stream's own, ended with it). */
  workers?: ArchiveWorkers | undefined;
  /**
   * Sees every output chunk, in order, before it is pushed, and gives back the chunk to push: pack has
   * the archive hashed in its worker this way. A chunk `owned` by the compressor (all but the gzip header
   * and trailer) lies in memory of its own, which may be moved to another thread and back.
   */
  passOutput?: ((chunk: Buffer, owned: boolean) => Promise<Buffer>) | undefined;
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
   * in a SharedArrayBuffer is shared instead, and must then stay untouched until `release` is called
   * (its last 32 KiB are then read in place as the next block's dictionary, not copied).
   */
  data: Buffer;
  /** Sorted, disjoint `[start, end)` pairs of bytes known not to shrink (stored as they are). */
  incompressible?: Uint32Array | undefined;
  /**
   * CRC-32 of the whole input up to and including this block, from a producer that computes it where the
   * bytes are (give it for every block or for none); computed here otherwise.
   */
  runningCrc?: number | undefined;
  /** Called, in block order, once the block's bytes are no longer read (after the next block's deflate). */
  release?: (() => void) | undefined;
  /**
   * The block already deflated by its producer, as this compressor would have: at the same level, with
   * the last 32 KiB of the block before it as dictionary, `incompressible` stored, ending byte-aligned.
   */
  deflated?: Buffer | undefined;
}

/**
 * gzip-compresses a byte stream into one gzip member, pigz-style: the input is cut into blocks that are
 * deflated in parallel by deflate threads, each primed with the 32 KiB of input before it (so the
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
  /** Stops this stream's deflates that are still queued at the (maybe shared) workers. */
  const stop = new AbortController();
  const jobSignal = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
  const ownWorkers = options.workers === undefined ? createArchiveWorkers() : undefined;
  const workers = options.workers ?? ownWorkers!;
  const pass = options.passOutput ?? ((chunk: Buffer) => Promise.resolve(chunk));
  let started = false;
  /** The consumer asked for more since the last push() that returned false. */
  let wanted = false;
  let onDemand: (() => void) | undefined;
  let onStop: (() => void) | undefined;
  const stopWorkers = () => {
    stop.abort();
    ownWorkers?.close().catch(() => {});
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
      await pump(blocks);
    } finally {
      stopWorkers();
      // Closes the source too; if a read is still pending this completes once it settles.
      blocks.return?.(undefined)?.catch(() => {});
    }
  }

  async function pump(blocks: AsyncIterator<InputBlock>): Promise<void> {
    const passing = new OutputOrder(pass);
    const jobs: Job[] = [passing.add(Promise.resolve(gzipHeader(settings.level)), false, undefined)];
    const dictionaries = new Dictionaries(settings.concurrency);
    let crc = 0;
    let inputBytes = 0;
    let sourceDone = false;
    /** The block taken last: the next block's deflate reads its tail, so it is released after that one. */
    let releasePrevious: (() => void) | undefined;
    const take = (job: Job): Buffer => {
      if (job.error !== undefined) throw job.error;
      // In block order, as a ring of blocks needs it (a later block may finish first).
      releasePrevious?.();
      releasePrevious = job.release;
      return job.output!;
    };

    for (;;) {
      if (output.destroyed) return;
      while (wanted && jobs.length > 0 && isSettled(jobs[0]!)) push(take(jobs.shift()!));
      if (!sourceDone && jobs.length < settings.concurrency) {
        const next = await nextBlock(blocks);
        if (next === undefined) return;
        if (next.done) {
          sourceDone = true;
          const end = Buffer.concat([FINAL_DEFLATE_BLOCK, gzipTrailer(crc, inputBytes)]);
          jobs.push(passing.add(Promise.resolve(end), false, undefined));
        } else {
          const block = next.value;
          crc = block.runningCrc ?? crc32(block.data, crc);
          inputBytes += block.data.length;
          const dictionary = dictionaries.before(block.data);
          const deflated =
            block.deflated === undefined
              ? workers.deflate(block.data, deflateOptions(block, dictionary, settings), jobSignal)
              : Promise.resolve(block.deflated);
          jobs.push(passing.add(deflated, true, block.release));
        }
        continue;
      }
      if (sourceDone && jobs.length === 0) break;
      await (wanted ? jobs[0]!.settled : demand());
    }
    releasePrevious?.();
    if (output.destroyed) return;
    push(null);
  }

  return output;
}

/**
 * One output chunk on its way: deflated (or given), then passed on in order. `settled` never rejects, so
 * a failure waits for its turn.
 */
interface Job {
  settled: Promise<void>;
  release: (() => void) | undefined;
  output?: Buffer;
  error?: unknown;
}

/**
 * Hands output chunks to `passOutput` in stream order, each as soon as it is ready and the one before it
 * has been handed over (not passed back: the other side may work on several at once).
 */
class OutputOrder {
  private handedOver: Promise<void> = Promise.resolve();

  constructor(private readonly pass: (chunk: Buffer, owned: boolean) => Promise<Buffer>) {}

  add(output: Promise<Buffer>, owned: boolean, release: (() => void) | undefined): Job {
    const job: Job = { settled: Promise.resolve(), release };
    const handed = Promise.all([output, this.handedOver]).then(([chunk]) => ({
      passed: this.pass(chunk, owned),
    }));
    this.handedOver = handed.then(
      () => {},
      () => {},
    );
    job.settled = handed
      .then(({ passed }) => passed)
      .then(
        (chunk) => {
          job.output = chunk;
        },
        (error: unknown) => {
          job.error = error ?? new Error("Deflate failed.");
        },
      );
    return job;
  }
}

/**
 * The 32 KiB of input before each block, its deflate dictionary. A block in shared memory stays as it is
 * until it is released (after the next block's deflate), so its tail is read in place; any other block
 * moves to a deflate worker, so its tail is copied first, into shared slots reused in turn: slot
 * n%(concurrency+1) is written when block n is taken, and not again before block n+concurrency+1, which
 * cannot be taken before the job that reads it (block n+1's) has been taken, in order.
 */
class Dictionaries {
  private readonly windows: SharedArrayBuffer;
  private readonly slots: number;
  private blocks = 0;
  private previous: Uint8Array | undefined;

  constructor(concurrency: number) {
    this.slots = concurrency + 1;
    this.windows = new SharedArrayBuffer(this.slots * WINDOW_BYTES);
  }

  /** The dictionary of `block` (undefined for the first), remembering what the next block's will be. */
  before(block: Buffer): Uint8Array | undefined {
    const dictionary = this.previous;
    const tail = block.subarray(Math.max(0, block.length - WINDOW_BYTES));
    if (block.buffer instanceof SharedArrayBuffer) this.previous = tail;
    else {
      const slot = (this.blocks % this.slots) * WINDOW_BYTES;
      this.previous = new Uint8Array(this.windows, slot, tail.length);
      this.previous.set(tail);
    }
    this.blocks++;
    return dictionary;
  }
}

/**
 * How a deflate worker turns a block into deflate data (see `deflateBlock`): at level 0 stored; with the
 * producer's ranges, exactly those stored and the rest deflated (with none marked, the producer sampled
 * every file, so a trial of the worker's own would only cost time); without ranges, judged by a sample.
 */
function deflateOptions(
  block: InputBlock,
  dictionary: Uint8Array | undefined,
  settings: Settings,
): DeflateBlockOptions {
  return {
    level: settings.level,
    storeIncompressible: settings.storeIncompressible,
    dictionary,
    incompressible: block.incompressible,
  };
}

function isSettled(job: Job): boolean {
  return job.output !== undefined || job.error !== undefined;
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
