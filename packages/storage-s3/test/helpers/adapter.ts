import { createS3Storage } from "../../src/index.js";
import type { S3StorageOptions } from "../../src/types.js";
import { S3RVER_CREDENTIALS } from "./s3rver.js";

/** Smallest part size S3 accepts; keeps multipart tests small. */
export const PART_SIZE = 5 * 1024 * 1024;

/** An adapter on `endpoint` (s3rver or a proxy in front of it) with test-sized settings. */
export function testStorage(endpoint: string, bucket: string, overrides: Partial<S3StorageOptions> = {}) {
  return createS3Storage({
    bucket,
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    partSize: PART_SIZE,
    queueSize: 2,
    pageSize: 2,
    // Its request would blur the tests that count requests; abandoned-uploads.test.ts turns it on.
    abandonedUploadAgeMs: false,
    ...overrides,
  });
}
