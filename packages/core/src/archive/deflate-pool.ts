import type { Worker } from "node:worker_threads";
import type { DeflateBlockOptions } from "./deflate-block.js";
import { COLLECT_OFTEN, spawnWorker } from "./spawn-worker.js";

/** One block to deflate, as sent to a worker (the block's memory is transferred, not copied). */
export interface DeflateRequest {
  id: number;
  buffer: ArrayBufferLike;
  offset: number;
  length: number;
  options: DeflateBlockOptions;
}

/** A worker's answer to one {@link DeflateRequest}. */
export type DeflateReply = { id: number; output: Uint8Array } | { id: number; error: string };

/** Jobs queued on every worker before another worker is started. */
const BACKLOG = 2;

interface Pending {
  worker: Worker;
  resolve(output: Buffer): void;
  reject(error: unknown): void;
}

/**
 * Deflate worker threads, each deflating one block at a time with zlib's synchronous calls. Unlike the
 * libuv pool, a worker can deflate the many small pieces of a block (between stored ranges) without a
 * round trip to this thread per piece. Each job goes to the worker with the fewest jobs queued.
 *
 * Workers start as the work needs them: one at first, another (up to `threads`) only once every worker
 * has {@link BACKLOG} jobs queued. Each costs about 20 MiB (its heap and its allocator's arena), so when
 * one keeps up with the input (a slow source, or data that is mostly stored) the others are never made.
 */
export class DeflatePool {
  private readonly workers: Worker[] = [];
  private readonly queued = new Map<Worker, number>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: unknown;

  constructor(private readonly threads: number) {
    this.addWorker();
  }

  private addWorker(): Worker {
    const worker = spawnWorker(import.meta.url, "deflate-worker", undefined, COLLECT_OFTEN);
    worker.on("message", (reply: DeflateReply) => this.settle(reply));
    worker.on("error", (error) => this.fail(error));
    worker.on("exit", () => this.fail(new Error("A deflate worker stopped unexpectedly.")));
    // Idle workers must not keep the process alive (a stream left unread is never closed).
    if (this.pending.size === 0) worker.unref();
    this.workers.push(worker);
    this.queued.set(worker, 0);
    return worker;
  }

  /**
   * Deflates `block`, whose memory is handed to the worker: it must own its whole ArrayBuffer (not a
   * slice of Node's shared Buffer pool) and must not be used afterwards. A block in a SharedArrayBuffer
   * is shared, not moved: it must stay untouched until the promise settles.
   */
  deflate(block: Buffer, options: DeflateBlockOptions): Promise<Buffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const worker = this.leastBusy();
    const id = this.nextId++;
    this.queued.set(worker, this.queued.get(worker)! + 1);
    const request: DeflateRequest = {
      id,
      buffer: block.buffer,
      offset: block.byteOffset,
      length: block.length,
      options,
    };
    return new Promise<Buffer>((resolve, reject) => {
      // Work in progress keeps the process alive, as it would on the libuv thread pool.
      if (this.pending.size === 0) for (const each of this.workers) each.ref();
      this.pending.set(id, { worker, resolve, reject });
      const shared = request.buffer instanceof SharedArrayBuffer;
      worker.postMessage(request, shared ? [] : [request.buffer as ArrayBuffer]);
    });
  }

  /** Stops the workers; jobs still running reject. */
  async close(): Promise<void> {
    this.fail(new Error("The deflate workers were stopped."));
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  /**
   * Blocks sent that no worker can take up as soon as it is free, counting the workers not started yet
   * as free: while this is above 0, a producer able to deflate blocks itself helps.
   */
  get waiting(): number {
    return Math.max(0, this.pending.size - this.threads);
  }

  private leastBusy(): Worker {
    let best = this.workers[0]!;
    for (const worker of this.workers) if (this.queued.get(worker)! < this.queued.get(best)!) best = worker;
    if (this.queued.get(best)! >= BACKLOG && this.workers.length < this.threads) return this.addWorker();
    return best;
  }

  private settle(reply: DeflateReply): void {
    const job = this.pending.get(reply.id);
    if (job === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) for (const worker of this.workers) worker.unref();
    this.queued.set(job.worker, this.queued.get(job.worker)! - 1);
    if ("output" in reply) {
      const { output } = reply;
      job.resolve(Buffer.from(output.buffer, output.byteOffset, output.length));
    } else job.reject(new Error(`Deflate failed: ${reply.error}`));
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
  }
}
