import { stat } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStorage, parseStorageUrl } from "../src/storage-url.js";
import { expectOneErrorLine } from "./helpers/backup-cli.js";
import { makeTempDir, runCli } from "./helpers/run-cli.js";

let temp: Awaited<ReturnType<typeof makeTempDir>>;

beforeEach(async () => {
  temp = await makeTempDir();
});

afterEach(() => temp.remove());

describe("parseStorageUrl", () => {
  it.each([
    ["a relative path", "backups", { kind: "local", root: "/srv/backups" }],
    ["an absolute path", "/data/backups", { kind: "local", root: "/data/backups" }],
    ["a folder whose name holds a colon, written ./", "./a:b", { kind: "local", root: "/srv/a:b" }],
    ["a file URL", "file:///data/my%20backups", { kind: "local", root: "/data/my backups" }],
    ["a file URL on localhost", "file://localhost/data", { kind: "local", root: "/data" }],
    [
      "an S3 URL",
      "s3://bucket/node-1?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true",
      {
        kind: "s3",
        url: "s3://bucket/node-1?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true",
      },
    ],
  ])("reads %s", (_name, url, expected) => {
    expect(parseStorageUrl(url, "/srv")).toEqual(expected);
  });

  it.each([
    [
      "another scheme",
      "ftp://host/dir",
      /"ftp:\/\/host\/dir" is not a storage URL: use a folder path, file:\/\/\/abs\/dir or s3:\/\/bucket\/prefix\./,
    ],
    ["an http URL", "https://bucket.s3.amazonaws.com", /is not a storage URL: use a folder path/],
    ["an empty string", "", /is not a storage URL/],
    ["a scheme without slashes", "s4:bucket", /is not a storage URL/],
    ["a file URL naming a host", "file://server/share", /a file URL names an absolute folder/],
    ["a file URL with a query", "file:///data?x=1", /a file URL names an absolute folder/],
    ["a file URL without its slashes", "file:data", /a file URL names an absolute folder/],
    ["a file URL hiding a slash", "file:///data/a%2Fb", /a file URL names an absolute folder/],
  ])("refuses %s with INVALID_INPUT", (_name, url, message) => {
    expect(() => parseStorageUrl(url, "/srv")).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringMatching(message) }),
    );
  });
});

describe("openStorage", () => {
  it("opens an existing folder and refuses a missing one unless asked to create it", async () => {
    const existing = await openStorage(pathToFileURL(temp.path).href, { cwd: "/" });
    expect(existing.name).toBe("local");

    await expect(openStorage("missing", { cwd: temp.path })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: `The storage folder "${join(temp.path, "missing")}" does not exist.`,
    });
    await expect(stat(join(temp.path, "missing"))).rejects.toMatchObject({ code: "ENOENT" });

    const created = await openStorage("missing", { cwd: temp.path, create: true });
    await created.delete("srv/none.json");
    expect((await stat(join(temp.path, "missing"))).isDirectory()).toBe(true);
  });

  it("opens an S3 URL without a request, and silences the SDK's Node version notice", async () => {
    const saved = process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    delete process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    try {
      const storage = await openStorage("s3://bucket/prefix?endpoint=http://127.0.0.1:9&region=us-east-1", {
        cwd: "/",
      });
      expect(storage.name).toBe("s3");
      expect(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe("true");
    } finally {
      if (saved === undefined) delete process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
      else process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = saved;
    }
  });

  it("refuses a malformed S3 URL with INVALID_INPUT", async () => {
    await expect(openStorage("s3://Not_A_Bucket/x", { cwd: "/" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(openStorage("s3://bucket?color=blue", { cwd: "/" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(/"color" is not an option/),
    });
  });
});

describe("a bad storage URL on the command line", () => {
  it.each([
    ["list", ["list", "--storage", "ftp://host/dir", "--server", "srv-1"]],
    ["migrate", ["migrate", "--from", ".", "--to", "gopher://x"]],
  ])("%s fails with one line", async (_name, args) => {
    const run = await runCli(args, { cwd: temp.path });

    expectOneErrorLine(
      run,
      /is not a storage URL: use a folder path, file:\/\/\/abs\/dir or s3:\/\/bucket\/prefix\./,
    );
    expect(run.stdout).toBe("");
  });
});
