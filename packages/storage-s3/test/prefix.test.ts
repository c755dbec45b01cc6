import { Readable } from "node:stream";
import { withKeyValidation } from "@strongbox/core";
import { patternBytes, readAll } from "@strongbox/core/testing";
import { afterEach, beforeEach, expect, it } from "vitest";
import { testStorage } from "./helpers/adapter.js";
import { type FakeS3, startFakeS3 } from "./helpers/s3rver.js";

let s3: FakeS3;

beforeEach(async () => {
  s3 = await startFakeS3();
});

afterEach(async () => {
  await s3.stop();
});

async function keysOf(storage: ReturnType<typeof testStorage>, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of withKeyValidation(storage).list(prefix)) keys.push(info.key);
  return keys;
}

it("keeps every key under the configured prefix and hides it from callers", async () => {
  const node1 = testStorage(s3.endpoint, s3.bucket, { prefix: "/tenants/node-1/" });
  const node10 = testStorage(s3.endpoint, s3.bucket, { prefix: "tenants/node-10" });
  const whole = testStorage(s3.endpoint, s3.bucket);
  const bytes = patternBytes(50);

  expect(await node1.put("srv/a.bin", Readable.from([bytes]))).toMatchObject({ key: "srv/a.bin", size: 50 });
  await node10.put("srv/b.bin", Readable.from([patternBytes(5)]));

  expect(await keysOf(node1)).toEqual(["srv/a.bin"]);
  expect(await keysOf(node1, "srv")).toEqual(["srv/a.bin"]);
  expect(await keysOf(node10)).toEqual(["srv/b.bin"]);
  expect(await keysOf(whole)).toEqual(["tenants/node-1/srv/a.bin", "tenants/node-10/srv/b.bin"]);
  expect(await node1.stat("srv/a.bin")).toMatchObject({ key: "srv/a.bin", size: 50 });
  expect((await readAll(await node1.get("srv/a.bin"))).equals(bytes)).toBe(true);
  expect(new URL(await node1.downloadUrl!("srv/a.bin")).pathname).toBe(
    `/${s3.bucket}/tenants/node-1/srv/a.bin`,
  );

  await node1.delete("srv/a.bin");
  expect(await keysOf(whole)).toEqual(["tenants/node-10/srv/b.bin"]);
});
