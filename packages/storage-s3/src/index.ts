// Public API of @strongbox/storage-s3.
export { createS3Storage } from "./adapter.js";
export type { ChecksumCalculation, ObjectLockOptions, S3StorageOptions } from "./types.js";
export { parseS3Url, type S3UrlOptions } from "./url.js";
