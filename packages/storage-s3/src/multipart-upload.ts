import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { isNotFound } from "./errors.js";

/** Where an object is uploaded to. */
export interface ObjectTarget {
  client: S3Client;
  bucket: string;
  key: string;
  /** Object Lock retention the object is written with, when the adapter is configured with one. */
  retention?: ObjectRetention | undefined;
}

/** An Object Lock mode and the date until which the object cannot be deleted or overwritten. */
export interface ObjectRetention {
  mode: "GOVERNANCE" | "COMPLIANCE";
  retainUntil: Date;
}

/**
 * The Object Lock headers of an upload, and the checksum S3 requires on every request that writes an
 * object with a retention period (CRC32, asked for even when the client sends checksums only when required).
 */
export function retentionFields(retention: ObjectRetention | undefined) {
  if (retention === undefined) return {};
  return {
    ObjectLockMode: retention.mode,
    ObjectLockRetainUntilDate: retention.retainUntil,
    ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
  };
}

/**
 * One S3 multipart upload: parts sent in parallel, then completed in order or aborted once. It holds no
 * bytes: each part's body belongs to the caller, who may reuse it once the part has settled.
 */
export class MultipartUpload {
  readonly uploadId: string;
  readonly #target: ObjectTarget;
  readonly #queueSize: number;
  readonly #parts: CompletedPart[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #cancelParts = new AbortController();
  #aborted: Promise<void> | undefined;

  private constructor(target: ObjectTarget, queueSize: number, uploadId: string) {
    this.#target = target;
    this.#queueSize = queueSize;
    this.uploadId = uploadId;
  }

  /**
   * Starts a multipart upload of at most `queueSize` parts in flight, asking for CRC32 part checksums when
   * the client sends checksums.
   */
  static async create(target: ObjectTarget, queueSize: number): Promise<MultipartUpload> {
    const { client, bucket, key } = target;
    const checksums = await client.config.requestChecksumCalculation();
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ChecksumAlgorithm: checksums === "WHEN_SUPPORTED" ? ChecksumAlgorithm.CRC32 : undefined,
        ...retentionFields(target.retention),
      }),
    );
    if (UploadId === undefined) throw new Error("S3 started a multipart upload without giving its id.");
    return new MultipartUpload(target, queueSize, UploadId);
  }

  /** Resolves once fewer than `queueSize` parts are in flight, so that another may be sent. */
  async room(): Promise<void> {
    while (this.#inFlight.size >= this.#queueSize) await Promise.race(this.#inFlight);
  }

  /**
   * Sends part `partNumber` (from 1), in flight along with the others (see {@link room}). The SDK retries transient failures; `settled` runs once it has
   * succeeded or failed for good (with the error), after which the SDK no longer reads `body`.
   */
  sendPart(partNumber: number, body: Uint8Array, settled: (error?: unknown) => void): void {
    const { client, bucket, key, retention } = this.#target;
    const command = new UploadPartCommand({
      Bucket: bucket,
      Key: key,
      UploadId: this.uploadId,
      PartNumber: partNumber,
      Body: body,
      ChecksumAlgorithm: retentionFields(retention).ChecksumAlgorithm,
    });
    const sent = client.send(command, { abortSignal: this.#cancelParts.signal }).then((output) => {
      if (output.ETag === undefined)
        throw new Error(`S3 accepted part ${partNumber} without giving its ETag.`);
      this.#parts.push({
        PartNumber: partNumber,
        ETag: output.ETag,
        // S3 checks these against the checksums it computed when the upload asked for them.
        ChecksumCRC32: output.ChecksumCRC32,
        ChecksumCRC32C: output.ChecksumCRC32C,
        ChecksumCRC64NVME: output.ChecksumCRC64NVME,
        ChecksumSHA1: output.ChecksumSHA1,
        ChecksumSHA256: output.ChecksumSHA256,
      });
    });
    const tracked = sent.then(
      () => settled(),
      (error: unknown) => settled(error),
    );
    this.#inFlight.add(tracked);
    void tracked.then(() => this.#inFlight.delete(tracked));
  }

  /** Resolves once no part is in flight. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /** Makes the object out of the parts sent, in order. Call once every part has settled successfully. */
  async complete(): Promise<void> {
    const { client, bucket, key } = this.#target;
    const parts = this.#parts.toSorted((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  }

  /** Cancels the parts in flight. Other requests are left to finish: cancelling them would hide their outcome. */
  cancelParts(): void {
    this.#cancelParts.abort();
  }

  /**
   * Cancels the parts in flight, waits for every request, then aborts the upload so that S3 drops its parts.
   * The abort is sent once however often this is called; an upload S3 no longer knows counts as aborted.
   */
  abort(): Promise<void> {
    this.#aborted ??= this.#abort().catch((error: unknown) => {
      this.#aborted = undefined; // a later call tries again
      throw error;
    });
    return this.#aborted;
  }

  async #abort(): Promise<void> {
    this.cancelParts();
    await this.settled();
    const { client, bucket, key } = this.#target;
    try {
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: this.uploadId }),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
