import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFaultProxy } from "../../storage-s3/test/helpers/fault-proxy.js";
import { type FakeS3, startFakeS3 } from "../../storage-s3/test/helpers/s3rver.js";
import { backUp, expectOneErrorLine, runJson, S3_ENV, s3Url } from "./helpers/backup-cli.js";
import { listTree, writeTree } from "./helpers/fixtures.js";
import { type CliOptions, makeTempDir, runCli } from "./helpers/run-cli.js";

// The child must not inherit the switch the s3rver helper sets for this process: the CLI silences the
// SDK's Node version notice itself, and these runs prove stderr stays clean.
const ENV = { ...S3_ENV, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined };

let s3: FakeS3;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let options: CliOptions;

beforeAll(async () => {
  s3 = await startFakeS3();
});

afterAll(() => s3.stop());

beforeEach(async () => {
  temp = await makeTempDir();
  options = { cwd: temp.path, env: ENV };
  await writeTree(join(temp.path, "srv"), { "a.txt": "hello", "world/level.dat": "level", "empty/": null });
});

afterEach(() => temp.remove());

/** A loopback port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("the backup commands on S3", () => {
  it("back up, list, verify, lock, hand out a link, restore and delete", async () => {
    const storage = s3Url(s3, "flow");
    const target = ["--storage", storage, "--server", "srv-1"];
    const backup = await backUp("srv", storage, "srv-1", ["--name", "On S3"], options);
    expect(backup).toMatchObject({
      name: "On S3",
      is_successful: true,
      checksum: expect.stringMatching(/^sha256:/),
    });

    const list = await runJson<{ data: { attributes: { uuid: string; checksum: string } }[] }>(
      ["list", ...target],
      options,
    );
    expect(list.data.map((item) => item.attributes)).toMatchObject([
      { uuid: backup.uuid, checksum: backup.checksum },
    ]);

    const verified = await runCli(["verify", backup.uuid, ...target], options);
    expect(verified).toMatchObject({ code: 0, stderr: "" });
    expect(verified.stdout).toMatch(/, verified\.\n$/);

    await runJson(["lock", backup.uuid, ...target], options);
    expectOneErrorLine(
      await runCli(["delete", backup.uuid, ...target], options),
      /Cannot delete a locked backup\./,
    );
    await runJson(["unlock", backup.uuid, ...target], options);

    const link = await runCli(["download-url", backup.uuid, ...target, "--expires", "60"], options);
    expect(link).toMatchObject({ code: 0, stderr: "" });
    const response = await fetch(link.stdout.trim());
    expect(response.status).toBe(200);
    const body = Buffer.from(await response.arrayBuffer());
    expect(`sha256:${createHash("sha256").update(body).digest("hex")}`).toBe(backup.checksum);

    await writeTree(join(temp.path, "target"), { "stale.txt": "old" });
    const restored = await runCli(["restore", backup.uuid, "target", ...target, "--truncate"], options);
    expect(restored).toMatchObject({ code: 0, stderr: "" });
    expect(await listTree(join(temp.path, "target"))).toEqual([
      "a.txt",
      "empty/",
      "world/",
      "world/level.dat",
    ]);

    const deleted = await runCli(["delete", backup.uuid, ...target], options);
    expect(deleted).toMatchObject({ code: 0, stderr: "" });
    const after = await runJson<{ data: unknown[] }>(["list", ...target], options);
    expect(after.data).toEqual([]);
    expect((await s3.storedFiles()).filter((file) => file.startsWith("flow/"))).toEqual([]);
  });

  it("ends with exit 1, the record's error and no archive when the archive cannot be uploaded", async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      proxy.addFault({ match: (r) => r.method === "PUT" && r.path.endsWith(".tar.gz"), action: "error500" });
      const storage = `s3://${s3.bucket}/failing?endpoint=${proxy.endpoint}&region=us-east-1&forcePathStyle=true`;

      const run = await runCli(
        ["backup", "srv", "--storage", storage, "--server", "srv-1", "--json"],
        options,
      );

      expectOneErrorLine(run, /^strongbox: Backup [0-9a-f-]{36} failed: Could not upload .*HTTP 500/);
      const printed = JSON.parse(run.stdout);
      expect(printed).toMatchObject({
        object: "backup",
        attributes: { is_successful: false, checksum: null },
      });
      expect(printed.attributes.completed_at).not.toBeNull();
      const stored = (await s3.storedFiles()).filter((file) => file.startsWith("failing/"));
      expect(stored.some((file) => file.includes(".tar.gz"))).toBe(false);
      expect(stored.some((file) => file.includes(`${printed.attributes.uuid}.json`))).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});

describe("S3 failures on the command line", () => {
  it("names an endpoint that cannot be reached, in one line", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const storage = `s3://${s3.bucket}?endpoint=${endpoint}&region=us-east-1&forcePathStyle=true`;

    const run = await runCli(["list", "--storage", storage, "--server", "srv-1"], options);

    expectOneErrorLine(run, new RegExp(`${endpoint} could not be reached \\(ECONNREFUSED\\)`));
    expect(run.stdout).toBe("");
  });

  it.each([
    ["list", ["list"]],
    ["backup", ["backup", "srv"]],
  ])("%s names refused credentials, in one line", async (_name, command) => {
    const run = await runCli([...command, "--storage", s3Url(s3, "denied"), "--server", "srv-1"], {
      ...options,
      env: { ...ENV, AWS_ACCESS_KEY_ID: "WRONG", AWS_SECRET_ACCESS_KEY: "WRONG" },
    });

    expectOneErrorLine(run, /access was denied \(InvalidAccessKeyId\); check the access key and secret/);
    expect(run.stdout).toBe("");
  });

  it("refuses a malformed S3 URL, in one line", async () => {
    const run = await runCli(["list", "--storage", "s3://bucket?colour=blue", "--server", "srv-1"], options);

    expectOneErrorLine(run, /The storage URL "s3:\/\/bucket\?colour=blue" is not a valid S3 URL/);
  });
});
