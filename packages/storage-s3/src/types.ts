import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";

/** How the SDK adds integrity checksums to uploads. */
export type ChecksumCalculation = "WHEN_SUPPORTED" | "WHEN_REQUIRED";

/** Options of {@link createS3Storage}. */
export interface S3StorageOptions {
  /** Bucket that holds the objects. It must already exist. */
  bucket: string;
  /** Folder inside the bucket that every key is stored under, e.g. `backups/node-1` (default: none). */
  prefix?: string;
  /** Endpoint of an S3-compatible service, e.g. `http://127.0.0.1:9000` (default: AWS). */
  endpoint?: string;
  /** Region to sign for (default: the standard AWS chain, `AWS_REGION` or the profile). */
  region?: string;
  /** Address buckets as `endpoint/bucket` rather than `bucket.endpoint`; most S3-compatible services need it. */
  forcePathStyle?: boolean;
  /** Access keys (default: the standard AWS chain: environment, profile, instance role). */
  credentials?: S3ClientConfig["credentials"];
  /**
   * A client to use as is. Its own configuration then applies, so `endpoint`, `region`,
   * `forcePathStyle`, `credentials`, `requestChecksumCalculation` and `maxAttempts` must be left out.
   */
  client?: S3Client;
  /**
   * Bytes per multipart part, at least 5 MiB (default 8 MiB). An upload holds `partSize × (queueSize + 1)`
   * bytes, and S3 allows 10,000 parts per object (78 GiB with 8 MiB parts).
   */
  partSize?: number;
  /** Parts uploaded in parallel (default 4). */
  queueSize?: number;
  /**
   * When uploads carry checksums. Default: `WHEN_SUPPORTED` on AWS, `WHEN_REQUIRED` when `endpoint` is set,
   * since many S3-compatible services reject the checksums recent SDKs send by default.
   */
  requestChecksumCalculation?: ChecksumCalculation;
  /** Attempts per request, the first included, before a transient error is reported (default 3). */
  maxAttempts?: number;
  /** Objects asked for per ListObjectsV2 page, 1 to 1000 (default 1000). */
  pageSize?: number;
  /**
   * Write every object under S3 Object Lock: it cannot be deleted or overwritten for `days` after its
   * upload (`GOVERNANCE`: except by a user allowed `s3:BypassGovernanceRetention`; `COMPLIANCE`: by
   * nobody, the root account included). The bucket must have been created with Object Lock enabled
   * (which turns on versioning). Off by default.
   */
  objectLock?: ObjectLockOptions;
  /**
   * Multipart uploads under `prefix` started longer ago than this (milliseconds, at least a minute) count
   * as left by a crash: the adapter aborts them before its first upload, so S3 stops keeping their parts.
   * `false` leaves them alone. Default: one day, well beyond any live upload.
   */
  abandonedUploadAgeMs?: number | false;
  /** Where notes for debugging go, e.g. that the service cannot list multipart uploads (default: nowhere). */
  debug?: (message: string) => void;
  /**
   * The clock download URLs are signed with, and Object Lock retention and upload ages count from
   * (default: the system clock); tests move it.
   */
  now?: () => Date;
}

/** S3 Object Lock retention written on every object (see {@link S3StorageOptions.objectLock}). */
export interface ObjectLockOptions {
  mode: "GOVERNANCE" | "COMPLIANCE";
  /** Whole days each object is retained from its upload, 1 to 36500. */
  days: number;
}
