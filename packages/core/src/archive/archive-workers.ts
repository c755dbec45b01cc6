import { availableParallelism } from "node:os";
import type { ResourceLimits, Transferable, Worker } from "node:worker_threads";
import { abortError, StrongboxError } from "../errors.js";
import type { DeflateBlockOptions } from "./gzip/deflate-block.js";
import { SharedMemoryPool } from "./shared-memory-pool.js";
import { COLLECT_OFTEN, spawnWorker } from "./spawn-worker.js";

/** Options of {@link createArchiveWorkers}. */
export interface ArchiveWorkersOptions {
  /** Deflate threads, 1-64 (default: the cores but one, at least one: the pack worker deflates too). */
  threads?: number;
}

/** One block to deflate, as sent to a worker (the block's memory is shared or moved, never copied). */
export interface DeflateRequest {
  id: number;
  buffer: ArrayBufferLike;
  offset: number;
  length: number;
  options: DeflateBlockOptions;
}

/** A worker's answer to one {@link DeflateRequest}. */
export type DeflateReply = { id: number; output: Uint8Array } | { id: number; error: string };

/** Jobs a worker holds at once (the one it deflates and the next), so it never idles on a round trip. */
const BACKLOG = 2;

interface Job {
  id: number;
  request: DeflateRequest;
  resolve(output: Buffer): void;
  reject(error: unknown): void;
  /** Set once the job is with a worker. */
  worker?: Worker;
  signal?: AbortSignal | undefined;
  onAbort?: () => void;
}

/**
 * The threads of a node's archive work, shared by every pack and extract given it as `workers`: one set
 * of deflate threads sized to the cores, fed from one first-in-first-out queue of blocks, so concurrent
 * backups share the cores instead of each starting threads of its own (and memory stays that of one
 * pool however many run). The pack and extract threads of the operations are started through it too, so
 * {@link ArchiveWorkers.close} ends them all.
 *
 * Deflate threads start as the work needs them (a worker costs about 20 MiB): one at first, another only
 * once every started worker holds {@link BACKLOG} blocks. Idle threads never keep the process alive.
 */
export class ArchiveWorkers {
  /** Deflate threads at most. */
  readonly threads: number;
  /**
   * Slot 0: blocks sent that no deflate thread can take up as soon as it is free (see {@link waiting}),
   * in shared memory so that pack workers read it without a message: while above 0 they help.
   */
  readonly waitingBlocks: Int32Array<SharedArrayBuffer>;
  /** The rings of the pack and extract threads, reused from one operation to the next. */
  readonly memory = new SharedMemoryPool();
  private readonly workers: Worker[] = [];
  private readonly held = new Map<Worker, Job[]>();
  private readonly queue: Job[] = [];
  private readonly started = new Set<Worker>();
  private nextId = 0;
  private closed = false;

  constructor(threads: number) {
    this.threads = threads;
    this.waitingBlocks = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  }

  /** Blocks sent that no thread can take up as soon as it is free (unstarted threads count as free). */
  get waiting(): number {
    return Atomics.load(this.waitingBlocks, 0);
  }

  /**
   * Deflates `block` on a deflate thread, after the blocks queued before it. A block in a
   * SharedArrayBuffer is shared and must stay untouched until the promise settles; any other block's
   * memory is moved to the thread: it must own its whole ArrayBuffer (not a slice of Node's Buffer pool)
   * and not be used afterwards. The output lies in memory of its own. A block still queued when `signal`
   * fires is dropped, and its promise rejects with `ABORTED`.
   */
  deflate(block: Buffer, options: DeflateBlockOptions, signal?: AbortSignal): Promise<Buffer> {
    if (this.closed) return Promise.reject(stopped());
    if (signal?.aborted) return Promise.reject(abortError(signal, "Compressing the archive"));
    return new Promise<Buffer>((resolve, reject) => {
      const id = this.nextId++;
      const request = { id, buffer: block.buffer, offset: block.byteOffset, length: block.length, options };
      const job: Job = { id, request, resolve, reject, signal };
      if (signal !== undefined) {
        job.onAbort = () => this.drop(job);
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /**
   * Starts the worker module `name` beside `base` (see `spawnWorker`) as one of this pool's threads: it
   * is terminated by {@link close}, and forgotten once it exits.
   */
  startThread(
    base: string,
    name: string,
    workerData: unknown,
    resourceLimits: ResourceLimits,
    transferList: readonly Transferable[] = [],
  ): Worker {
    if (this.closed) throw stopped();
    const worker = spawnWorker(base, name, workerData, resourceLimits, transferList);
    this.started.add(worker);
    worker.once("exit", () => this.started.delete(worker));
    return worker;
  }

  /** Ends every thread; blocks queued or being deflated reject, and later calls fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = stopped();
    for (const job of [...this.queue, ...[...this.held.values()].flat()]) this.settle(job, error);
    this.queue.length = 0;
    this.held.clear();
    this.updateWaiting();
    const threads = [...this.workers, ...this.started];
    this.workers.length = 0;
    await Promise.all(threads.map((worker) => worker.terminate()));
  }

  /** Hands queued blocks, oldest first, to workers with room, starting one when all are full. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.workerWithRoom();
      if (worker === undefined) break;
      const job = this.queue.shift()!;
      job.worker = worker;
      const jobs = this.held.get(worker)!;
      // Work in progress keeps the process alive, as it would on the libuv thread pool.
      if (jobs.length === 0) worker.ref();
      jobs.push(job);
      const shared = job.request.buffer instanceof SharedArrayBuffer;
      worker.postMessage(job.request, shared ? [] : [job.request.buffer as ArrayBuffer]);
    }
    this.updateWaiting();
  }

  private workerWithRoom(): Worker | undefined {
    let best: Worker | undefined;
    for (const worker of this.workers) {
      if (best === undefined || this.held.get(worker)!.length < this.held.get(best)!.length) best = worker;
    }
    const load = best === undefined ? BACKLOG : this.held.get(best)!.length;
    if (load >= BACKLOG && this.workers.length < this.threads) return this.addWorker();
    return load < BACKLOG ? best : undefined;
  }

  private addWorker(): Worker {
    const worker = spawnWorker(import.meta.url, "gzip/deflate-worker", undefined, COLLECT_OFTEN);
    worker.on("message", (reply: DeflateReply) => this.onReply(worker, reply));
    worker.on("error", (error) => this.lose(worker, error));
    worker.on("exit", () => this.lose(worker, new Error("A deflate worker stopped unexpectedly.")));
    this.workers.push(worker);
    this.held.set(worker, []);
    return worker;
  }

  private onReply(worker: Worker, reply: DeflateReply): void {
    const jobs = this.held.get(worker);
    const index = jobs?.findIndex((job) => job.id === reply.id) ?? -1;
    if (jobs === undefined || index < 0) return;
    const [job] = jobs.splice(index, 1);
    // Idle workers must not keep the process alive (a stream left unread is never closed).
    if (jobs.length === 0) worker.unref();
    if ("output" in reply) {
      const { output } = reply;
      this.settle(job!, undefined, Buffer.from(output.buffer, output.byteOffset, output.length));
    } else this.settle(job!, new Error(`Deflate failed: ${reply.error}`));
    this.dispatch();
  }

  /** A worker that failed or exited: its blocks fail, the others go on (a new worker replaces it). */
  private lose(worker: Worker, error: unknown): void {
    const jobs = this.held.get(worker);
    if (jobs === undefined) return;
    this.held.delete(worker);
    this.workers.splice(this.workers.indexOf(worker), 1);
    for (const job of jobs) this.settle(job, error);
    worker.terminate().catch(() => {});
    this.dispatch();
  }

  private drop(job: Job): void {
    const index = this.queue.indexOf(job);
    if (index < 0) return;
    this.queue.splice(index, 1);
    this.settle(job, abortError(job.signal, "Compressing the archive"));
    this.updateWaiting();
  }

  private settle(job: Job, error: unknown, output?: Buffer): void {
    if (job.onAbort !== undefined) job.signal?.removeEventListener("abort", job.onAbort);
    if (output !== undefined) job.resolve(output);
    else job.reject(error);
  }

  private updateWaiting(): void {
    let pending = this.queue.length;
    for (const jobs of this.held.values()) pending += jobs.length;
    Atomics.store(this.waitingBlocks, 0, Math.max(0, pending - this.threads));
  }
}

/**
 * A pool of archive threads for concurrent operations to share: give it as `workers` to `pack`,
 * `packToFile`, `extract` or `createBackupManager`, and `close()` it once they are done. Without it each
 * operation starts (and ends) threads of its own.
 *
 * @example
 * ```ts
 * const workers = createArchiveWorkers();
 * const manager = createBackupManager({ storage, workers });
 * // ... on shutdown
 * await workers.close();
 * ```
 * @throws {StrongboxError} `INVALID_INPUT` when `threads` is not an integer from 1 to 64.
 */
export function createArchiveWorkers(options: ArchiveWorkersOptions = {}): ArchiveWorkers {
  const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "The archive worker threads must be a whole number from 1 to 64.",
      {
        details: { threads },
      },
    );
  }
  return new ArchiveWorkers(threads);
}

function stopped(): StrongboxError {
  return new StrongboxError("ABORTED", "The deflate workers were stopped.");
}
