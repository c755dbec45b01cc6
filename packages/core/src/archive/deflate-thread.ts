import type { Worker } from "node:worker_threads";
import type { DeflateBlockOptions } from "./deflate-block.js";
import { COLLECT_OFTEN, spawnWorker } from "./spawn-worker.js";

/** One block to deflate, as sent to the worker (the block's memory is transferred, not copied). */
export interface DeflateRequest {
  id: number;
  buffer: ArrayBufferLike;
  offset: number;
  length: number;
  options: DeflateBlockOptions;
}

/** The worker's answer to one {@link DeflateRequest}. */
export type DeflateReply = { id: number; output: Uint8Array } | { id: number; error: string };

interface Pending {
  resolve(output: Buffer): void;
  reject(error: unknown): void;
}

/**
 * A deflate worker thread, deflating one block at a time with zlib's synchronous calls. Unlike the libuv
 * pool, it can deflate the many small pieces of a block (between stored ranges) without a round trip to
 * this thread per piece.
 *
 * There is one: each worker costs about 20 MiB (its heap and its allocator's arena; measured on the
 * many-small tree, peak RSS of a pack 135 MiB with one, 155 MiB with two). The pack worker deflates
 * blocks itself while this one is busy, which keeps both cores working.
 */
export class DeflateThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: unknown;

  constructor() {
    this.worker = spawnWorker(import.meta.url, "deflate-worker", undefined, COLLECT_OFTEN);
    this.worker.on("message", (reply: DeflateReply) => this.settle(reply));
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", () => this.fail(new Error("The deflate worker stopped unexpectedly.")));
    // An idle worker must not keep the process alive (a stream left unread is never closed).
    this.worker.unref();
  }

  /** Blocks sent and not yet answered. */
  get backlog(): number {
    return this.pending.size;
  }

  /**
   * Deflates `block`, whose memory is handed to the worker: it must own its whole ArrayBuffer (not a
   * slice of Node's shared Buffer pool) and must not be used afterwards. A block in a SharedArrayBuffer
   * is shared, not moved: it must stay untouched until the promise settles.
   */
  deflate(block: Buffer, options: DeflateBlockOptions): Promise<Buffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    const request: DeflateRequest = {
      id,
      buffer: block.buffer,
      offset: block.byteOffset,
      length: block.length,
      options,
    };
    return new Promise<Buffer>((resolve, reject) => {
      // Work in progress keeps the process alive, as it would on the libuv thread pool.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      const shared = request.buffer instanceof SharedArrayBuffer;
      this.worker.postMessage(request, shared ? [] : [request.buffer as ArrayBuffer]);
    });
  }

  /** Stops the worker; jobs still running reject. */
  async close(): Promise<void> {
    this.fail(new Error("The deflate worker was stopped."));
    await this.worker.terminate();
  }

  private settle(reply: DeflateReply): void {
    const job = this.pending.get(reply.id);
    if (job === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
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
