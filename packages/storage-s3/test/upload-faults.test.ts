import { PassThrough } from "node:stream";
import { hashStream, patternBytes, patternSha256, streamPattern } from "@strongbox/core/testing";
import { describe, expect, it } from "vitest";
import { PART_SIZE, testStorage } from "./helpers/adapter.js";
import {
  isAbortMultipartUpload,
  isCreateMultipartUpload,
  isUploadPart,
  type RecordedRequest,
} from "./helpers/fault-proxy.js";
import { useProxiedS3 } from "./helpers/proxied-s3.js";

/** Three parts: two full ones and a short last one. */
const TOTAL = PART_SIZE * 2 + 4321;

const isComplete = (r: RecordedRequest) => r.method === "POST" && r.query.uploadId !== undefined;

describe("multipart uploads through a faulty network", () => {
  const env = useProxiedS3();

  const storage = (maxAttempts = 3) => testStorage(env.proxy.endpoint, env.s3.bucket, { maxAttempts });
  const uploadIdsOf = (match: (r: RecordedRequest) => boolean) => [
    ...new Set(env.proxy.requests.filter(match).map((r) => r.query.uploadId)),
  ];

  async function expectNothingStored(): Promise<void> {
    expect(await env.s3.storedFiles()).toEqual([]);
  }

  async function expectAbortedOnce(): Promise<void> {
    const uploadIds = uploadIdsOf(isUploadPart());
    expect(uploadIds).toHaveLength(1);
    expect(env.proxy.requests.filter(isAbortMultipartUpload).map((r) => r.query.uploadId)).toEqual(uploadIds);
    expect(env.proxy.requests.some(isComplete)).toBe(false);
    await expectNothingStored();
  }

  async function expectStoredIntact(key: string): Promise<void> {
    const adapter = testStorage(env.s3.endpoint, env.s3.bucket);
    expect(await hashStream(await adapter.get(key))).toEqual({
      sha256: patternSha256(TOTAL, 3),
      size: TOTAL,
    });
    expect((await env.s3.storedFiles()).filter((file) => file.includes("_S3rver_uploads"))).toEqual([]);
  }

  it("retries a part that gets a 500 once, and completes", async () => {
    env.proxy.addFault({ match: isUploadPart(2), action: "error500", times: 1 });
    const info = await storage().put("srv/retried.tar.gz", streamPattern(TOTAL, { seed: 3 }));
    expect(info).toMatchObject({ key: "srv/retried.tar.gz", size: TOTAL });
    expect(env.proxy.requests.filter(isUploadPart(2))).toHaveLength(2);
    expect(env.proxy.requests.filter(isUploadPart())).toHaveLength(4);
    expect(env.proxy.requests.some(isAbortMultipartUpload)).toBe(false);
    await expectStoredIntact("srv/retried.tar.gz");
  });

  it("aborts the multipart upload when a part keeps failing", async () => {
    env.proxy.addFault({ match: isUploadPart(2), action: "error500" });
    const put = storage(2).put("srv/failing.tar.gz", streamPattern(TOTAL, { seed: 3 }));
    await expect(put).rejects.toMatchObject({ code: "STORAGE_ERROR", message: /InternalError \(HTTP 500\)/ });
    expect(env.proxy.requests.filter(isUploadPart(2))).toHaveLength(2);
    await expectAbortedOnce();
  });

  it("retries a part whose connection is cut mid-body, and completes", async () => {
    env.proxy.addFault({ match: isUploadPart(1), action: "cut", times: 1 });
    const info = await storage().put("srv/cut-once.tar.gz", streamPattern(TOTAL, { seed: 3 }));
    expect(info.size).toBe(TOTAL);
    expect(env.proxy.requests.filter(isUploadPart(1))).toHaveLength(2);
    await expectStoredIntact("srv/cut-once.tar.gz");
  });

  it("aborts the multipart upload when a part's connection is cut on every attempt", async () => {
    env.proxy.addFault({ match: isUploadPart(2), action: "cut" });
    const put = storage(2).put("srv/cut.tar.gz", streamPattern(TOTAL, { seed: 3 }));
    await expect(put).rejects.toMatchObject({
      code: "STORAGE_ERROR",
      message: /connection to http:\/\/127.0.0.1:\d+ was lost/,
    });
    await expectAbortedOnce();
  });

  it("aborts the multipart upload when the signal fires while the source is stalled", async () => {
    const controller = new AbortController();
    // Two and a bit parts written, then nothing: the source neither ends nor fails.
    const body = new PassThrough({ highWaterMark: PART_SIZE * 3 });
    body.write(patternBytes(PART_SIZE * 2 + 100));
    const put = storage().put("srv/stalled.tar.gz", body, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(put).rejects.toMatchObject({ code: "ABORTED" });
    expect(body.destroyed).toBe(true);
    await expectAbortedOnce();
  });

  it("sends no checksums to a custom endpoint unless asked to", async () => {
    const withChecksums = testStorage(env.proxy.endpoint, env.s3.bucket, {
      requestChecksumCalculation: "WHEN_SUPPORTED",
    });
    await storage().put("srv/plain.tar.gz", streamPattern(TOTAL, { seed: 3 }));
    await withChecksums.put("srv/checked.tar.gz", streamPattern(TOTAL, { seed: 3 }));
    const checksummed = (key: string) =>
      env.proxy.requests
        .filter((r) => isUploadPart()(r) && r.path.endsWith(key))
        .map((r) => Object.keys(r.headers).some((name) => name.startsWith("x-amz-checksum-")));
    expect(checksummed("plain.tar.gz")).toEqual([false, false, false]);
    expect(checksummed("checked.tar.gz")).toEqual([true, true, true]);
    expect(env.proxy.requests.filter(isCreateMultipartUpload)).toHaveLength(2);
  });
});
