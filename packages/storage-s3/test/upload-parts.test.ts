import { hashStream, patternSha256, streamPattern } from "@strongbox/core/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PART_SIZE, testStorage } from "./helpers/adapter.js";
import {
  type FaultProxy,
  isUploadPart,
  type RecordedRequest,
  startFaultProxy,
} from "./helpers/fault-proxy.js";
import { type FakeS3, startFakeS3 } from "./helpers/s3rver.js";

const isMultipart = (r: RecordedRequest) => r.query.uploads !== undefined || r.query.uploadId !== undefined;

describe("how an upload is cut into requests", () => {
  let s3: FakeS3;
  let proxy: FaultProxy;

  beforeEach(async () => {
    s3 = await startFakeS3();
    proxy = await startFaultProxy(s3.endpoint);
  });

  afterEach(async () => {
    await proxy.stop();
    await s3.stop();
  });

  async function expectStored(key: string, size: number, seed: number): Promise<void> {
    const adapter = testStorage(s3.endpoint, s3.bucket);
    expect(await hashStream(await adapter.get(key))).toEqual({ sha256: patternSha256(size, seed), size });
  }

  it.each([
    ["less than a part", 1000],
    ["exactly one part", PART_SIZE],
  ])("sends %s as a single PutObject", async (_, size) => {
    const progress: number[] = [];
    const storage = testStorage(proxy.endpoint, s3.bucket);
    const info = await storage.put("srv/one.bin", streamPattern(size, { seed: 4 }), {
      onProgress: (bytes) => progress.push(bytes),
    });
    expect(info.size).toBe(size);
    expect(proxy.requests.filter((r) => r.method === "PUT")).toHaveLength(1);
    expect(proxy.requests.some(isMultipart)).toBe(false);
    expect(progress).toEqual([size]);
    await expectStored("srv/one.bin", size, 4);
  });

  it("reuses its part buffers: parts keep their bytes, a retried one too, with no more in flight than asked", async () => {
    // One part in flight means two buffers, so the third part is cut into the first part's buffer.
    const total = PART_SIZE * 2 + 777;
    proxy.addFault({ match: isUploadPart(3), action: "error500", times: 1 });
    const storage = testStorage(proxy.endpoint, s3.bucket, { queueSize: 1 });
    const info = await storage.put("srv/reused.bin", streamPattern(total, { seed: 6 }));
    expect(info.size).toBe(total);
    expect(proxy.requests.filter(isUploadPart()).map((r) => r.query.partNumber)).toEqual([
      "1",
      "2",
      "3",
      "3",
    ]);
    expect(proxy.peakInFlight(isUploadPart())).toBe(1);
    await expectStored("srv/reused.bin", total, 6);
  });
});
