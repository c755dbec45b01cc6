import { hashStream, patternSha256, streamPattern } from "@strongbox/core/testing";
import { describe, expect, it } from "vitest";
import { PART_SIZE, testStorage } from "./helpers/adapter.js";
import { isUploadPart, type RecordedRequest } from "./helpers/fault-proxy.js";
import { useProxiedS3 } from "./helpers/proxied-s3.js";

const isMultipart = (r: RecordedRequest) => r.query.uploads !== undefined || r.query.uploadId !== undefined;

describe("how an upload is cut into requests", () => {
  const env = useProxiedS3();

  async function expectStored(key: string, size: number, seed: number): Promise<void> {
    const adapter = testStorage(env.s3.endpoint, env.s3.bucket);
    expect(await hashStream(await adapter.get(key))).toEqual({ sha256: patternSha256(size, seed), size });
  }

  it.each([
    ["less than a part", 1000],
    ["exactly one part", PART_SIZE],
  ])("sends %s as a single PutObject", async (_, size) => {
    const progress: number[] = [];
    const storage = testStorage(env.proxy.endpoint, env.s3.bucket);
    const info = await storage.put("srv/one.bin", streamPattern(size, { seed: 4 }), {
      onProgress: (bytes) => progress.push(bytes),
    });
    expect(info.size).toBe(size);
    expect(env.proxy.requests.filter((r) => r.method === "PUT")).toHaveLength(1);
    expect(env.proxy.requests.some(isMultipart)).toBe(false);
    expect(progress).toEqual([size]);
    await expectStored("srv/one.bin", size, 4);
  });

  it("reuses its part buffers: parts keep their bytes, a retried one too, with no more in flight than asked", async () => {
    // One part in flight means two buffers, so the third part is cut into the first part's buffer.
    const total = PART_SIZE * 2 + 777;
    env.proxy.addFault({ match: isUploadPart(3), action: "error500", times: 1 });
    const storage = testStorage(env.proxy.endpoint, env.s3.bucket, { queueSize: 1 });
    const info = await storage.put("srv/reused.bin", streamPattern(total, { seed: 6 }));
    expect(info.size).toBe(total);
    expect(env.proxy.requests.filter(isUploadPart()).map((r) => r.query.partNumber)).toEqual([
      "1",
      "2",
      "3",
      "3",
    ]);
    expect(env.proxy.peakInFlight(isUploadPart())).toBe(1);
    await expectStored("srv/reused.bin", total, 6);
  });
});
