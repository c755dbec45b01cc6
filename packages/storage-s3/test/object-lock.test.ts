// s3rver does not implement Object Lock: these tests check the requests the adapter sends, through the
// loopback proxy, and how it reports a delete the bucket refuses.
import { hashStream, patternSha256, streamPattern } from "@strongbox/core/testing";
import { describe, expect, it } from "vitest";
import { PART_SIZE, testStorage } from "./helpers/adapter.js";
import { isCreateMultipartUpload, isUploadPart, type RecordedRequest } from "./helpers/fault-proxy.js";
import { useProxiedS3 } from "./helpers/proxied-s3.js";
import { s3ErrorXml } from "./helpers/s3rver.js";

const NOW = new Date("2026-03-01T12:00:00.000Z");
const isPutObject = (r: RecordedRequest) => r.method === "PUT" && r.query.uploadId === undefined;
const isDelete = (r: RecordedRequest) => r.method === "DELETE" && r.query.uploadId === undefined;
const lockHeaders = (r: RecordedRequest) => ({
  mode: r.headers["x-amz-object-lock-mode"],
  until: r.headers["x-amz-object-lock-retain-until-date"],
});

describe("S3 Object Lock", () => {
  const env = useProxiedS3();

  const locked = (mode: "GOVERNANCE" | "COMPLIANCE") =>
    testStorage(env.proxy.endpoint, env.s3.bucket, { objectLock: { mode, days: 30 }, now: () => NOW });

  it("writes a small object with the mode, a retain-until date counted from the upload, and a checksum", async () => {
    await locked("COMPLIANCE").put("srv/a.tar.gz", streamPattern(1000, { seed: 1 }));

    const [put] = env.proxy.requests.filter(isPutObject);
    expect(lockHeaders(put!)).toEqual({ mode: "COMPLIANCE", until: "2026-03-31T12:00:00Z" });
    // S3 refuses an upload with a retention period that carries no integrity checksum.
    expect(put!.headers["x-amz-checksum-crc32"]).toEqual(expect.any(String));
  });

  it("starts a multipart upload with the lock, and sends each part with a checksum", async () => {
    const total = PART_SIZE * 2 + 10;
    const info = await locked("GOVERNANCE").put("srv/b.tar.gz", streamPattern(total, { seed: 2 }));

    expect(info.size).toBe(total);
    const creates = env.proxy.requests.filter(isCreateMultipartUpload);
    expect(creates.map(lockHeaders)).toEqual([{ mode: "GOVERNANCE", until: "2026-03-31T12:00:00Z" }]);
    const parts = env.proxy.requests.filter(isUploadPart());
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(part.headers["x-amz-checksum-crc32"]).toEqual(expect.any(String));
    const stored = testStorage(env.s3.endpoint, env.s3.bucket);
    expect(await hashStream(await stored.get("srv/b.tar.gz"))).toEqual({
      sha256: patternSha256(total, 2),
      size: total,
    });
  });

  it("sends no lock headers when none is configured", async () => {
    await testStorage(env.proxy.endpoint, env.s3.bucket).put(
      "srv/c.tar.gz",
      streamPattern(1000, { seed: 3 }),
    );

    const [put] = env.proxy.requests.filter(isPutObject);
    expect(lockHeaders(put!)).toEqual({ mode: undefined, until: undefined });
  });

  it("reports a delete the bucket refuses under the lock as a storage error saying so", async () => {
    const storage = locked("COMPLIANCE");
    await storage.put("srv/d.tar.gz", streamPattern(1000, { seed: 4 }));
    env.proxy.addFault({
      match: isDelete,
      action: { status: 403, body: s3ErrorXml("AccessDenied", "Access Denied") },
    });

    const refusal = storage.delete("srv/d.tar.gz");
    await expect(refusal).rejects.toMatchObject({
      code: "STORAGE_ERROR",
      message: expect.stringMatching(
        /Could not delete "srv\/d\.tar\.gz".*S3 Object Lock retention; it can be deleted once its retain-until date has passed/,
      ),
    });
    expect(await env.s3.storedFiles()).toEqual(expect.arrayContaining([expect.stringContaining("d.tar.gz")]));
  });

  it("names Object Lock when the bucket says so, even on an adapter that does not lock", async () => {
    const storage = testStorage(env.proxy.endpoint, env.s3.bucket);
    env.proxy.addFault({
      match: isDelete,
      action: {
        status: 403,
        body: s3ErrorXml("AccessDenied", "Access Denied because object protected by object lock."),
      },
    });

    await expect(storage.delete("srv/e.tar.gz")).rejects.toMatchObject({
      code: "STORAGE_ERROR",
      message: expect.stringContaining("under S3 Object Lock retention"),
    });
  });

  it.each([
    [
      { mode: "LEGAL_HOLD" as "GOVERNANCE", days: 1 },
      /mode must be GOVERNANCE or COMPLIANCE, not "LEGAL_HOLD"/,
    ],
    [
      { mode: "GOVERNANCE" as const, days: 0 },
      /Object Lock retention in days must be a whole number from 1 to 36500/,
    ],
  ])("refuses the options %o", (objectLock, message) => {
    expect(() => testStorage(env.proxy.endpoint, env.s3.bucket, { objectLock })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringMatching(message) }),
    );
  });
});
