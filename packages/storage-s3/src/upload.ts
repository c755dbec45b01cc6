import type { Readable } from "node:stream";
import { setImmediate as nextTurn } from "node:timers/promises";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { abortError, StrongboxError, throwIfAborted } from "@strongbox/core/parts";
import { MultipartUpload, type ObjectTarget, retentionFields } from "./multipart-upload.js";
import { PartBuffers } from "./part-buffers.js";

/** S3's limit on the parts of one object. */
const MAX_PARTS = 10_000;

/** One streaming upload. */
export interface StreamUpload extends ObjectTarget {
  body: Readable;
  partSize: number;
  queueSize: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytes: number) => void) | undefined;
}

/**
 * Uploads a stream of unknown length: a single PutObject when it fits in one part, a multipart upload
 * otherwise, with at most `queueSize` parts in flight. The bytes are copied into `queueSize + 1` part
 * buffers that are reused, so memory stays at `partSize × (queueSize + 1)` whatever the size, and the
 * source is read no faster than parts are stored.
 *
 * Resolves once the object is complete. On failure or abort it stops reading, destroys `body`, waits for
 * the requests in flight, aborts the multipart upload (or deletes an object whose completion raced the
 * abort), and only then rejects: with the first error (the SDK's, the source's) or `ABORTED`, or with a
 * `STORAGE_ERROR` when that cleanup fails.
 */
export async function uploadStream(upload: StreamUpload): Promise<void> {
  const { body, signal } = upload;
  if (signal?.aborted) body.destroy();
  throwIfAborted(signal, `Uploading "${upload.key}"`);
  const run = new UploadRun(upload);
  const onAbort = () => run.stop(abortError(signal, `Uploading "${upload.key}"`));
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await run.upload();
  } catch (error) {
    run.stop(error);
    await run.rollback();
    throw run.failure;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** One upload's state: the part buffers, the multipart upload once started, the first failure. */
class UploadRun {
  readonly #upload: StreamUpload;
  readonly #buffers: PartBuffers;
  readonly #halted = new AbortController();
  #multipart: MultipartUpload | undefined;
  #completed = false;
  #partsSent = 0;
  #stored = 0;

  constructor(upload: StreamUpload) {
    this.#upload = upload;
    this.#buffers = new PartBuffers(upload.partSize);
  }

  /** The first reason the upload stopped for. */
  get failure(): unknown {
    return this.#halted.signal.reason;
  }

  /** Stops the upload for `reason` (the first one given wins): no more reading, parts in flight cancelled. */
  stop(reason: unknown): void {
    if (this.#halted.signal.aborted) return;
    this.#halted.abort(reason);
    this.#upload.body.destroy();
    this.#multipart?.cancelParts();
  }

  /** Reads the whole source into parts and stores them; throws the first failure. */
  async upload(): Promise<void> {
    const { body, partSize } = this.#upload;
    let part = this.#buffers.take();
    let filled = 0;
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      for (let offset = 0; offset < chunk.length; ) {
        if (filled === partSize) {
          // A full part is sent only once more bytes follow: a source of exactly one part is a PutObject.
          await this.#sendPart(part, filled);
          part = this.#buffers.take();
          filled = 0;
        }
        const length = Math.min(partSize - filled, chunk.length - offset);
        part.set(chunk.subarray(offset, offset + length), filled);
        filled += length;
        offset += length;
      }
    }
    this.#throwIfHalted();
    if (this.#multipart === undefined) return this.#putObject(part.subarray(0, filled));
    await this.#sendPart(part, filled);
    await this.#multipart.settled();
    this.#throwIfHalted();
    await this.#multipart.complete();
    this.#completed = true;
    this.#throwIfHalted();
  }

  /** Leaves nothing behind: no parts, and no object when its completion raced a failure. */
  async rollback(): Promise<void> {
    const { client, bucket, key } = this.#upload;
    const uploadId = this.#multipart?.uploadId;
    try {
      if (this.#completed) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      else await this.#multipart?.abort();
    } catch (cleanupError) {
      const leftover = this.#completed ? "object" : `multipart upload ${uploadId}`;
      throw new StrongboxError(
        "STORAGE_ERROR",
        `Uploading "${key}" to bucket "${bucket}" failed and its ${leftover} could not be removed; remove it by hand or with a bucket lifecycle rule.`,
        { cause: cleanupError, details: { uploadId, key, reason: this.failure } },
      );
    }
  }

  /** Sends a part once there is room for it: until then the source is not read. */
  async #sendPart(buffer: Buffer, length: number): Promise<void> {
    const { key, partSize } = this.#upload;
    if (this.#partsSent === MAX_PARTS) {
      throw new StrongboxError(
        "STORAGE_ERROR",
        `"${key}" is larger than S3's limit of ${MAX_PARTS} parts of ${partSize} bytes; raise the S3 part size.`,
        { details: { key, partSize, maxParts: MAX_PARTS } },
      );
    }
    this.#multipart ??= await MultipartUpload.create(this.#upload, this.#upload.queueSize);
    await this.#multipart.room();
    // One event-loop turn per part: while there is room, copying runs on microtasks alone, which would hold
    // off other I/O and the collector's tasks that free the source's spent chunks.
    await nextTurn();
    this.#throwIfHalted();
    this.#partsSent += 1;
    this.#multipart.sendPart(this.#partsSent, buffer.subarray(0, length), (error) => {
      try {
        if (error !== undefined) throw error;
        this.#progress(length);
      } catch (failure) {
        this.stop(failure); // the part's, or the progress callback's
      }
      this.#buffers.give(buffer);
    });
  }

  async #putObject(body: Uint8Array): Promise<void> {
    const { client, bucket, key, retention } = this.#upload;
    // Not cancelled on abort, which would leave its outcome unknown: a stored object is deleted instead.
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...retentionFields(retention) }),
    );
    this.#completed = true;
    this.#throwIfHalted();
    this.#progress(body.length);
  }

  #progress(bytes: number): void {
    this.#stored += bytes;
    this.#upload.onProgress?.(this.#stored);
  }

  #throwIfHalted(): void {
    if (this.#halted.signal.aborted) throw this.failure;
  }
}
