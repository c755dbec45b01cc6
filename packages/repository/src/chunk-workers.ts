import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { StrongboxError } from "@strongbox/core/parts";
import { COLLECT_OFTEN, spawnWorker } from "@strongbox/core/threads";
import { type ChunkIndex, ID_BYTES } from "./chunk-index.js";
import type {
  ChunkMessage,
  ChunkWorkerData,
  FileEnd,
  ReadJob,
  ToChunkWorker,
} from "./chunk-worker-protocol.js";
import { chunkingSecrets, type Repository } from "./repository.js";

export type { FileEnd, FileProblem } from "./chunk-worker-protocol.js";

/** Options of {@link ChunkWorkers}. */
export interface ChunkWorkersOptions {
  /** Threads at most (default: the cores, at most 4); each starts only once the work needs it. */
  threads?: number;
  /** Deflate level of chunks that compress (default 1). */
  level?: number;
  /**
   * The chunks the repository holds: the threads send those as ids alone, without their bytes (the
   * caller drops them as duplicates). Shared with the threads when the first one starts
   * (`ChunkIndex.share`); chunks added to it later are sent whole.
   */
  known?: ChunkIndex;
}

/** Some chunks of one file, as a worker sent them: ids and sealed blobs, views of the worker's message. */
export interface ChunkPiece {
  readonly count: number;
  id(n: number): Uint8Array;
  /** The chunk's sealed blob, ready for a pack; empty for a chunk the `known` index held when shared. */
  blob(n: number): Uint8Array;
  /** Bytes of file data the chunk holds. */
  rawLength(n: number): number;
  /** Done with the piece (its views must no longer be used): the worker may send more. */
  release(): void;
}

/** A file being read by a worker: its chunks in order, a piece at a time, then how the read ended. */
export interface FileChunks {
  next(): Promise<{ piece: ChunkPiece } | { end: FileEnd }>;
}

/**
 * Messages a worker may send ahead of what the main thread has taken, about 1 MiB each: a worker reading
 * files further on than the one the backup records now stops there, so memory stays bounded whatever the
 * files' sizes.
 */
const CREDITS = 8;

interface Thread {
  worker: Worker;
  /** Files given to it in this turn of the event loop, sent together once the turn's code is done. */
  outbox: ReadJob[];
  /** Bytes of the files given to it and not yet taken whole (which thread gets the next file). */
  queuedBytes: number;
}

interface Job {
  thread: Thread;
  size: number;
  pieces: ChunkPiece[];
  end?: FileEnd;
  wake?: (() => void) | undefined;
}

/**
 * Worker threads that read files and cut them into chunks, named, compressed and sealed as the repository
 * does (content-defined cuts, ids keyed when encrypted), while the calling thread walks the tree and packs
 * what they send. Files go to the thread with the fewest bytes queued; each file's chunks come back in
 * order through {@link FileChunks}, whatever order the threads finish in. Close it when done: the threads
 * keep the process alive until then.
 */
export class ChunkWorkers {
  private readonly threads: Thread[] = [];
  private readonly jobs = new Map<number, Job>();
  private readonly data: ChunkWorkerData;
  private readonly known: ChunkIndex | undefined;
  private readonly maxThreads: number;
  private nextJob = 0;
  private failure: Error | undefined;
  private held = 0;
  private closing = false;

  constructor(repo: Repository, options: ChunkWorkersOptions = {}) {
    const { chunker, keys } = chunkingSecrets(repo);
    this.data = { chunker, keys, level: options.level ?? 1, credits: CREDITS };
    this.known = options.known;
    this.maxThreads = options.threads ?? Math.min(4, availableParallelism());
    if (!Number.isSafeInteger(this.maxThreads) || this.maxThreads < 1) {
      throw new RangeError(
        `Chunk worker threads must be a whole number of at least 1 (got ${options.threads}).`,
      );
    }
  }

  /**
   * Gives the file at `path` to a thread; `size` (from lstat) only balances the threads. The file is
   * opened without following a symlink, read up to the size it has once open, and never written. Take
   * the files in the order given: a thread whose credits are spent on a file not taken reads no further,
   * so waiting on a later file of the same thread would wait for ever.
   */
  read(path: string | Uint8Array, size: number): FileChunks {
    const thread = this.pick();
    const job: Job = { thread, size, pieces: [] };
    const number = this.nextJob++;
    this.jobs.set(number, job);
    thread.queuedBytes += size;
    thread.outbox.push({ job: number, path });
    if (thread.outbox.length === 1) queueMicrotask(() => this.send(thread));
    return {
      next: async () => {
        for (;;) {
          const piece = job.pieces.shift();
          if (piece) return { piece };
          if (job.end) {
            this.jobs.delete(number);
            thread.queuedBytes -= size;
            return { end: job.end };
          }
          if (this.failure) throw this.failure;
          await new Promise<void>((resolve) => {
            job.wake = resolve;
          });
          job.wake = undefined;
        }
      },
    };
  }

  /** Stops the threads; files not taken whole are dropped (their `next` fails with `ABORTED`). */
  async close(): Promise<void> {
    this.closing = true;
    this.fail(new StrongboxError("ABORTED", "The chunk workers were closed before the file was read."));
    await Promise.all(this.threads.map(({ worker }) => worker.terminate()));
  }

  /** Bytes of the threads' messages taken in and not yet released: at most their credits' worth. */
  get heldBytes(): number {
    return this.held;
  }

  /**
   * The thread with the fewest bytes queued; another starts (up to the most allowed) while every started
   * one is busy. Starting them only once much work is queued made a first backup of game-server@0.25
   * slower (1.8-2.1 s against 1.45-1.5 s): a thread warms up while the first one reads.
   */
  private pick(): Thread {
    if (this.closing) throw new Error("The chunk workers are closed.");
    let best = this.threads[0];
    for (const thread of this.threads) if (thread.queuedBytes < best!.queuedBytes) best = thread;
    if (best && (best.queuedBytes === 0 || this.threads.length === this.maxThreads)) return best;
    return this.start();
  }

  private start(): Thread {
    if (this.known && !this.data.known) this.data.known = this.known.share();
    const worker = spawnWorker(import.meta.url, "chunk-worker", this.data, COLLECT_OFTEN);
    const thread: Thread = { worker, queuedBytes: 0, outbox: [] };
    worker.on("message", (message: ChunkMessage) => this.take(thread, message));
    worker.on("error", (error) => this.fail(error));
    worker.on("exit", (code) => {
      if (!this.closing) this.fail(new Error(`A chunk worker stopped unexpectedly (exit code ${code}).`));
    });
    this.threads.push(thread);
    return thread;
  }

  private send(thread: Thread): void {
    const jobs = thread.outbox;
    thread.outbox = [];
    if (!this.closing) thread.worker.postMessage({ type: "read", jobs } satisfies ToChunkWorker);
  }

  /** Hands a message's chunks to the files they belong to; acknowledged once every piece is released. */
  private take(thread: Thread, message: ChunkMessage): void {
    const offsets = new Array<number>(message.blobLengths.length + 1);
    offsets[0] = 0;
    for (const [n, length] of message.blobLengths.entries()) offsets[n + 1] = offsets[n]! + length;
    this.held += message.blobs.byteLength;
    const ack = () => {
      this.held -= message.blobs.byteLength;
      const blobs = message.blobs.buffer as ArrayBuffer;
      thread.worker.postMessage({ type: "ack", blobs } satisfies ToChunkWorker, [blobs]);
    };
    let unreleased = message.files.filter((part) => part.chunks > 0).length;
    const release = () => {
      if (--unreleased === 0) ack();
    };
    if (unreleased === 0) ack();
    let first = 0;
    for (const part of message.files) {
      const job = this.jobs.get(part.job);
      if (part.chunks > 0) {
        const piece = pieceOf(message, offsets, first, part.chunks, release);
        if (job) job.pieces.push(piece);
        else piece.release();
      }
      first += part.chunks;
      if (!job) continue;
      if (part.end) job.end = part.end;
      job.wake?.();
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const job of this.jobs.values()) job.wake?.();
  }
}

function pieceOf(
  message: ChunkMessage,
  offsets: number[],
  first: number,
  count: number,
  release: () => void,
): ChunkPiece {
  const { ids, blobs, rawLengths } = message;
  let released = false;
  return {
    count,
    id: (n) => ids.subarray((first + n) * ID_BYTES, (first + n + 1) * ID_BYTES),
    blob: (n) => blobs.subarray(offsets[first + n]!, offsets[first + n + 1]!),
    rawLength: (n) => rawLengths[first + n]!,
    release() {
      if (released) return;
      released = true;
      release();
    },
  };
}
