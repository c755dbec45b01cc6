import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from "@aws-sdk/client-s3";
import { isNotFound } from "./errors.js";

/** Where to look for abandoned uploads, and what counts as abandoned. */
export interface AbandonedUploadsScan {
  client: S3Client;
  bucket: string;
  /** The adapter's key prefix with its trailing `/`, or `""`. */
  prefix: string;
  /** Uploads started before this instant are abandoned. */
  startedBefore: Date;
  debug: (message: string) => void;
}

/**
 * Aborts the multipart uploads under `prefix` started before `startedBefore`: what a crashed process left,
 * whose parts S3 keeps (and bills) until aborted. Younger ones may belong to a live upload of another
 * process and are left alone. A service without ListMultipartUploads (HTTP 501) is skipped with a debug
 * note. Resolves with the keys whose uploads were aborted.
 */
export async function abortAbandonedUploads(scan: AbandonedUploadsScan): Promise<string[]> {
  const { client, bucket, prefix, startedBefore, debug } = scan;
  const aborted: string[] = [];
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  do {
    let page: Awaited<ReturnType<typeof listPage>>;
    try {
      page = await listPage(client, { Bucket: bucket, Prefix: prefix, KeyMarker, UploadIdMarker });
    } catch (error) {
      if (statusOf(error) !== 501) throw error;
      debug(
        `The S3 service does not list multipart uploads (HTTP 501): abandoned uploads under "${prefix}" are not cleaned up.`,
      );
      return aborted;
    }
    for (const upload of page.Uploads ?? []) {
      const { Key, UploadId, Initiated } = upload;
      if (Key === undefined || UploadId === undefined || Initiated === undefined) continue;
      if (Initiated >= startedBefore) continue;
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
      } catch (error) {
        if (!isNotFound(error)) throw error; // gone meanwhile: completed or aborted by its owner
      }
      aborted.push(Key);
    }
    KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    UploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (KeyMarker !== undefined);
  if (aborted.length > 0) debug(`Aborted ${aborted.length} abandoned multipart upload(s) under "${prefix}".`);
  return aborted;
}

function listPage(client: S3Client, input: ConstructorParameters<typeof ListMultipartUploadsCommand>[0]) {
  return client.send(new ListMultipartUploadsCommand(input));
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}
