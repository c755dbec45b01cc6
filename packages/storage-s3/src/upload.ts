import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { abortError, StrongboxError, throwIfAborted } from "@strongbox/core";
import { isNotFound } from "./errors.js";

/** One streaming upload. */
export interface StreamUpload {
  client: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  partSize: number;
  queueSize: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytes: number) => void) | undefined;
}

/**
 * Uploads a stream of unknown length in parts, never holding more than about `queueSize + 2` parts in
 * memory. Resolves once the object is complete. On failure or abort, it rejects only after the multipart
 * upload has been aborted (or a completion that raced the abort undone) and `body` destroyed, so nothing is
 * left behind. Rejects with the SDK's error, `ABORTED`, or a `STORAGE_ERROR` when the cleanup itself fails.
 */
export async function uploadStream(upload: StreamUpload): Promise<void> {
  const { body, signal } = upload;
  if (signal?.aborted) body.destroy();
  throwIfAborted(signal, `Uploading "${upload.key}"`);
  const guard = new UploadGuard(upload.client, upload.bucket, upload.key);
  const sdkUpload = new Upload({
    client: guard.client,
    params: { Bucket: upload.bucket, Key: upload.key, Body: body },
    partSize: upload.partSize,
    queueSize: upload.queueSize,
    leavePartsOnError: false,
  });
  const onProgress = upload.onProgress;
  if (onProgress) sdkUpload.on("httpUploadProgress", (p) => p.loaded !== undefined && onProgress(p.loaded));
  const onAbort = () => void sdkUpload.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await sdkUpload.done();
  } catch (error) {
    body.destroy();
    await guard.rollback(error);
    throw signal?.aborted ? abortError(signal, `Uploading "${upload.key}"`) : error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Sits between lib-storage and the client to learn the upload id, cancel part uploads and, when the upload
 * fails, wait until no request is in flight before aborting it. lib-storage alone aborts only once every
 * part in flight has returned and its input has ended, after its promise has already rejected.
 */
class UploadGuard {
  /** The client to hand to lib-storage: the real one with `send` replaced. */
  readonly client: S3Client;
  readonly #base: S3Client;
  readonly #bucket: string;
  readonly #key: string;
  readonly #cancelParts = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;
  #uploadId: string | undefined;
  #completed = false;
  #aborted: Promise<void> | undefined;

  constructor(base: S3Client, bucket: string, key: string) {
    this.#base = base;
    this.#bucket = bucket;
    this.#key = key;
    const send = (command: unknown) => this.#send(command);
    this.client = new Proxy(base, {
      get: (target, name) => (name === "send" ? send : Reflect.get(target, name)),
    });
  }

  /** Stops new requests, cancels part uploads, waits for the rest, then leaves no parts and no object. */
  async rollback(reason: unknown): Promise<void> {
    this.#stop();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    try {
      if (this.#completed)
        await this.#base.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key }));
      else await this.#abortMultipart();
    } catch (cleanupError) {
      throw new StrongboxError(
        "STORAGE_ERROR",
        `Uploading "${this.#key}" to bucket "${this.#bucket}" failed and its ${this.#completed ? "object" : `multipart upload ${this.#uploadId}`} could not be removed; remove it by hand or with a bucket lifecycle rule.`,
        { cause: cleanupError, details: { uploadId: this.#uploadId, key: this.#key, reason } },
      );
    }
  }

  #send(command: unknown): Promise<unknown> {
    if (command instanceof AbortMultipartUploadCommand) return this.#abortMultipart().then(() => ({}));
    if (this.#closed) return Promise.reject(new Error("The upload was stopped."));
    // Only part uploads are cancelled: cancelling the others would leave the server's outcome unknown.
    const options = command instanceof UploadPartCommand ? { abortSignal: this.#cancelParts.signal } : {};
    const sent = this.#base.send(command as UploadPartCommand, options) as Promise<unknown>;
    const settled = sent.then(
      (output) => this.#record(command, output),
      () => this.#stop(),
    );
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return sent;
  }

  /**
   * Called on the first request that fails for good (the SDK has retried it): lib-storage would otherwise
   * keep reading the input and uploading parts until it ends, then abort them all.
   */
  #stop(): void {
    this.#closed = true;
    this.#cancelParts.abort();
  }

  #record(command: unknown, output: unknown): void {
    if (command instanceof CreateMultipartUploadCommand)
      this.#uploadId = (output as { UploadId?: string }).UploadId;
    if (command instanceof CompleteMultipartUploadCommand || command instanceof PutObjectCommand) {
      this.#completed = true;
    }
  }

  /** Aborts the multipart upload once, whoever asks first (lib-storage or the rollback). */
  #abortMultipart(): Promise<void> {
    const uploadId = this.#uploadId;
    if (uploadId === undefined) return Promise.resolve();
    this.#aborted ??= this.#base
      .send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key, UploadId: uploadId }))
      .then(
        () => undefined,
        (error: unknown) => {
          if (isNotFound(error)) return;
          this.#aborted = undefined; // a later caller tries again
          throw error;
        },
      );
    return this.#aborted;
  }
}
