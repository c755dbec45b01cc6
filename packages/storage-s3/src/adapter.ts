import { posix } from "node:path";
import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  abortError,
  DEFAULT_DOWNLOAD_EXPIRY_SECONDS,
  type GetOptions,
  type ObjectInfo,
  objectNotFound,
  type StorageAdapter,
  StrongboxError,
  throwIfAborted,
} from "@strongbox/core/parts";
import { abortAbandonedUploads } from "./abandoned-uploads.js";
import { attachmentDisposition } from "./content-disposition.js";
import { isInvalidRange, isNotFound, type S3ErrorContext, toStorageError } from "./errors.js";
import { resolveSettings } from "./settings.js";
import type { S3StorageOptions } from "./types.js";
import { uploadStream } from "./upload.js";

const DAY_MS = 86_400_000;

/**
 * A {@link StorageAdapter} on an S3 bucket (AWS or S3-compatible). Uploads stream in parts of `partSize`
 * with `queueSize` in flight, retry transient errors and abort the multipart upload on failure or abort;
 * before its first upload it aborts the ones a crash left under its prefix (`abandonedUploadAgeMs`);
 * downloads are presigned GET URLs. SDK failures become `STORAGE_ERROR`s that say what to fix.
 *
 * @example
 * ```ts
 * const storage = createS3Storage(parseS3Url("s3://my-backups/node-1?region=eu-west-1"));
 * ```
 */
export function createS3Storage(options: S3StorageOptions): StorageAdapter {
  const settings = resolveSettings(options);
  const { client, bucket } = settings;
  const fullKey = (key: string) => (settings.prefix === "" ? key : `${settings.prefix}/${key}`);
  const context = (action: string, key?: string): S3ErrorContext => ({
    action,
    bucket,
    key: key === undefined ? undefined : fullKey(key),
    endpoint: settings.endpointLabel,
  });
  const lock = settings.objectLock;
  let cleanup: Promise<void> | undefined;
  // Once per adapter, before its first upload: reading commands never write, even to clean up.
  const abortAbandonedOnce = (age: number) => {
    cleanup ??= abortAbandonedUploads({
      client,
      bucket,
      prefix: settings.prefix === "" ? "" : `${settings.prefix}/`,
      startedBefore: new Date(settings.now().getTime() - age),
      debug: settings.debug,
    }).then(
      () => {},
      (error: unknown) => {
        const reason = toStorageError(error, context("abort the abandoned multipart uploads in")).message;
        settings.debug(reason); // never a reason to fail the upload that asked
      },
    );
    return cleanup;
  };
  // Each object's retention counts from its own upload.
  const retention = () =>
    lock && { mode: lock.mode, retainUntil: new Date(settings.now().getTime() + lock.days * DAY_MS) };

  async function stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
      return { key, size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toStorageError(error, context("describe", key));
    }
  }

  return {
    name: "s3",

    async put(key, body, { signal, onProgress } = {}) {
      if (settings.abandonedUploadAgeMs !== false) await abortAbandonedOnce(settings.abandonedUploadAgeMs);
      const source = body instanceof Readable ? body : Readable.from(body);
      let sourceError: unknown;
      source.once("error", (error) => {
        sourceError = error;
      });
      try {
        await uploadStream({
          client,
          bucket,
          key: fullKey(key),
          retention: retention(),
          body: source,
          partSize: settings.partSize,
          queueSize: settings.queueSize,
          signal,
          onProgress,
        });
      } catch (error) {
        // The caller's own stream failing is its error to see, not a storage failure.
        if (error === sourceError) throw error;
        throw toStorageError(error, context("upload", key));
      }
      const info = await stat(key);
      if (info === undefined) {
        throw new StrongboxError(
          "STORAGE_ERROR",
          `S3 accepted the upload of "${fullKey(key)}" to bucket "${bucket}" but then did not find it.`,
          { details: { key: fullKey(key), bucket } },
        );
      }
      return info;
    },

    async get(key, { signal, range }: GetOptions = {}) {
      const what = `Reading "${key}"`;
      throwIfAborted(signal, what);
      const Range = range && `bytes=${range.start}-${range.end ?? ""}`;
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: fullKey(key), Range }), {
          abortSignal: signal,
        });
        return followSignal(object.Body as Readable, signal, what);
      } catch (error) {
        if (signal?.aborted) throw abortError(signal, what);
        if (isNotFound(error)) throw objectNotFound(key);
        if (isInvalidRange(error)) {
          throw new StrongboxError(
            "INVALID_INPUT",
            `The requested range starts at byte ${range?.start}, beyond the end of "${key}".`,
            { details: { key, range } },
          );
        }
        throw toStorageError(error, context("read", key));
      }
    },

    stat,

    async delete(key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
      } catch (error) {
        if (!isNotFound(error)) {
          throw toStorageError(error, { ...context("delete", key), objectLock: lock !== undefined });
        }
      }
    },

    async *list(prefix) {
      const root = settings.prefix === "" ? "" : `${settings.prefix}/`;
      const pages = paginateListObjectsV2(
        { client, pageSize: settings.pageSize },
        { Bucket: bucket, Prefix: root + prefix },
      );
      try {
        for await (const page of pages) {
          for (const object of page.Contents ?? []) {
            if (object.Key === undefined) continue;
            yield {
              key: object.Key.slice(root.length),
              size: object.Size ?? 0,
              modifiedAt: object.LastModified ?? new Date(0),
            };
          }
        }
      } catch (error) {
        throw toStorageError(error, context(`list "${prefix}" in`));
      }
    },

    async downloadUrl(key, { expiresIn = DEFAULT_DOWNLOAD_EXPIRY_SECONDS, filename } = {}) {
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: fullKey(key),
        ResponseContentDisposition: attachmentDisposition(filename ?? posix.basename(key)),
      });
      try {
        return await getSignedUrl(client, command, { expiresIn, signingDate: settings.now() });
      } catch (error) {
        throw toStorageError(error, context("sign a download URL for", key));
      }
    },
  };
}

/** Ends the body with `ABORTED` when `signal` fires while it is being read. */
function followSignal(body: Readable, signal: AbortSignal | undefined, what: string): Readable {
  if (signal === undefined) return body;
  const onAbort = () => body.destroy(abortError(signal, what));
  signal.addEventListener("abort", onAbort, { once: true });
  body.once("close", () => signal.removeEventListener("abort", onAbort));
  return body;
}
