import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createBackupManager } from "@strongbox/core";
import { createLocalStorage } from "@strongbox/storage-local";
import { createS3Storage } from "@strongbox/storage-s3";
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  type FakeS3,
  S3RVER_CREDENTIALS,
  startFakeS3,
} from "../../../packages/storage-s3/test/helpers/s3rver.js";
import { runExample, tempFolder } from "../../test-support/run-example.js";

let work: Awaited<ReturnType<typeof tempFolder>>;
let s3: FakeS3;
beforeEach(async () => {
  work = await tempFolder("example-migrate");
  s3 = await startFakeS3("migrated");
});
afterEach(async () => {
  await s3.stop();
  await work.remove();
});

it("copies every successful backup to S3, verified, and copies nothing on a second run", async () => {
  const local = join(work.path, "backups");
  const manager = createBackupManager({
    storage: createLocalStorage({ root: local }),
    serverRoot: (id) => join(work.path, "servers", id),
  });
  const made: { server: string; uuid: string; checksum: string }[] = [];
  for (const server of ["srv-1", "srv-2"]) {
    await mkdir(join(work.path, "servers", server), { recursive: true });
    await writeFile(join(work.path, "servers", server, "data.txt"), `${server} `.repeat(1000));
    const record = await manager.create(server);
    made.push({ server, uuid: record.uuid, checksum: (await manager.wait(server, record.uuid)).checksum! });
  }
  await manager.close();

  const url = `s3://${s3.bucket}/node-1?endpoint=${s3.endpoint}&region=us-east-1&forcePathStyle=true`;
  const env = {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };
  const first = await runExample("migrate-local-to-s3", [local, url], env);
  expect(first.code, first.stderr).toBe(0);
  expect(first.lines.at(-1)).toEqual({ summary: { copied: 2, skipped: 0, failed: [] } });

  // What S3 holds now: both archives under the prefix, with their checksums.
  const target = createS3Storage({ ...s3.options, prefix: "node-1" });
  for (const { server, uuid, checksum } of made) {
    const hash = createHash("sha256");
    for await (const chunk of await target.get(`${server}/${uuid}.tar.gz`)) hash.update(chunk as Buffer);
    expect(`sha256:${hash.digest("hex")}`).toBe(checksum);
  }

  const second = await runExample("migrate-local-to-s3", [local, url], env);
  expect(second.code).toBe(0);
  expect(second.lines.at(-1)).toEqual({ summary: { copied: 0, skipped: 2, failed: [] } });
  expect(second.lines.filter((line) => "backup" in line).map((line) => line.backup)).toEqual([
    expect.objectContaining({ status: "skipped", reason: "already_present" }),
    expect.objectContaining({ status: "skipped", reason: "already_present" }),
  ]);
});
