import { createServer } from "node:net";
import { Readable } from "node:stream";
import { isStrongboxError } from "@strongbox/core";
import { patternBytes } from "@strongbox/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorage } from "./helpers/adapter.js";
import { type FakeS3, startFakeS3 } from "./helpers/s3rver.js";

/** A loopback port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs `attempt` and returns its StrongboxError, failing the test if it resolves or throws anything else. */
async function failureOf(attempt: () => Promise<unknown>) {
  const error = await attempt().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStrongboxError(error)) throw new Error(`expected a StrongboxError, got ${String(error)}`);
  return error;
}

describe("S3 failures are reported as STORAGE_ERROR with a cause a person can fix", () => {
  let s3: FakeS3;

  beforeAll(async () => {
    s3 = await startFakeS3();
  });

  afterAll(async () => {
    await s3.stop();
  });

  it("names refused credentials", async () => {
    const storage = testStorage(s3.endpoint, s3.bucket, {
      credentials: { accessKeyId: "WRONG", secretAccessKey: "WRONG" },
      maxAttempts: 1,
    });
    for (const attempt of [
      () => storage.put("srv/x.bin", Readable.from([patternBytes(10)])),
      () => storage.get("srv/x.bin"),
      () => storage.stat("srv/x.bin"),
      async () => {
        for await (const _ of storage.list("")) break;
      },
    ]) {
      const error = await failureOf(attempt);
      expect(error.code).toBe("STORAGE_ERROR");
      expect(error.message).toMatch(/access was denied .*AWS_ACCESS_KEY_ID/);
    }
  });

  it("names a missing bucket", async () => {
    const storage = testStorage(s3.endpoint, "no-such-bucket", { maxAttempts: 1 });
    const put = await failureOf(() => storage.put("srv/x.bin", Readable.from([patternBytes(10)])));
    expect(put).toMatchObject({
      code: "STORAGE_ERROR",
      details: { bucket: "no-such-bucket", key: "srv/x.bin" },
    });
    expect(put.message).toMatch(/bucket does not exist at http:\/\/127\.0\.0\.1:\d+; create it/);
    const list = await failureOf(async () => {
      for await (const _ of storage.list("srv/")) break;
    });
    expect(list.message).toMatch(/bucket does not exist/);
  });

  it("names an endpoint that cannot be reached", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const storage = testStorage(endpoint, s3.bucket, { maxAttempts: 1 });
    for (const attempt of [
      () => storage.put("srv/x.bin", Readable.from([patternBytes(10)])),
      () => storage.stat("srv/x.bin"),
      () => storage.delete("srv/x.bin"),
    ]) {
      const error = await failureOf(attempt);
      expect(error.code).toBe("STORAGE_ERROR");
      expect(error.message).toContain(`${endpoint} could not be reached (ECONNREFUSED)`);
    }
  });

  it("ends a download with ABORTED when its signal fires", async () => {
    const storage = testStorage(s3.endpoint, s3.bucket);
    await storage.put("srv/read.bin", Readable.from([patternBytes(256 * 1024)]));
    const controller = new AbortController();
    const body = await storage.get("srv/read.bin", { signal: controller.signal });
    controller.abort();
    await expect(body.toArray()).rejects.toMatchObject({ code: "ABORTED" });
  });
});
