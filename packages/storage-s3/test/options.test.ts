import { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { attachmentDisposition } from "../src/content-disposition.js";
import { createS3Storage, parseS3Url } from "../src/index.js";
import "./helpers/quiet-sdk.js";

describe("parseS3Url", () => {
  it("reads bucket, prefix and every query option", () => {
    expect(
      parseS3Url(
        "s3://backups/nodes/node-1/?endpoint=http://127.0.0.1:9000&region=eu-west-3&forcePathStyle=true&requestChecksumCalculation=WHEN_REQUIRED",
      ),
    ).toEqual({
      bucket: "backups",
      prefix: "nodes/node-1",
      endpoint: "http://127.0.0.1:9000",
      region: "eu-west-3",
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
    });
    expect(parseS3Url("s3://my.bucket-1")).toEqual({ bucket: "my.bucket-1" });
    expect(parseS3Url("s3://b12/?forcePathStyle=false")).toEqual({ bucket: "b12", forcePathStyle: false });
    expect(parseS3Url("s3://b12?objectLockMode=COMPLIANCE&objectLockDays=30")).toEqual({
      bucket: "b12",
      objectLock: { mode: "COMPLIANCE", days: 30 },
    });
  });

  it.each([
    ["not a URL", "backups/node-1"],
    ["another scheme", "https://backups/node-1"],
    ["credentials in the URL", "s3://AKIA:secret@backups/x"],
    ["a port", "s3://backups:9000/x"],
    ["a fragment", "s3://backups/x#y"],
    ["a bucket name S3 refuses", "s3://Backups_1/x"],
    ["a too short bucket name", "s3://ab"],
    ["a traversal in the prefix", "s3://backups/a/../b"],
    ["an empty prefix segment", "s3://backups/a//b"],
    ["an unknown option", "s3://backups?regoin=us-east-1"],
    ["a repeated option", "s3://backups?region=us-east-1&region=eu-west-1"],
    ["a non-http endpoint", "s3://backups?endpoint=ftp://host"],
    ["an endpoint with credentials", "s3://backups?endpoint=http://u:p@127.0.0.1:9000"],
    ["a bad boolean", "s3://backups?forcePathStyle=yes"],
    ["a bad region", "s3://backups?region=US East"],
    ["a bad checksum mode", "s3://backups?requestChecksumCalculation=ALWAYS"],
    ["an Object Lock mode without days", "s3://backups?objectLockMode=GOVERNANCE"],
    ["Object Lock days without a mode", "s3://backups?objectLockDays=7"],
    ["an unknown Object Lock mode", "s3://backups?objectLockMode=governance&objectLockDays=7"],
    ["zero Object Lock days", "s3://backups?objectLockMode=GOVERNANCE&objectLockDays=0"],
  ])("refuses %s with INVALID_INPUT", (_, url) => {
    expect(() => parseS3Url(url)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
  });
});

describe("createS3Storage options", () => {
  it("refuses parts below S3's 5 MiB minimum and other out-of-range numbers", () => {
    for (const options of [
      { partSize: 5 * 1024 * 1024 - 1 },
      { queueSize: 0 },
      { pageSize: 1001 },
      { maxAttempts: 0 },
    ]) {
      expect(() => createS3Storage({ bucket: "backups", region: "us-east-1", ...options })).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT" }),
      );
    }
  });

  it("refuses client settings next to an injected client, which would silently ignore them", () => {
    const client = new S3Client({ region: "us-east-1" });
    expect(() => createS3Storage({ bucket: "backups", client, region: "eu-west-1" })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining("region") }),
    );
    expect(createS3Storage({ bucket: "backups", client, partSize: 6 * 1024 * 1024 }).name).toBe("s3");
    client.destroy();
  });
});

describe("attachmentDisposition", () => {
  it("gives an ASCII fallback and the exact name, with nothing that could break the header", () => {
    expect(attachmentDisposition("Nightly backup.tar.gz")).toBe(
      `attachment; filename="Nightly backup.tar.gz"; filename*=UTF-8''Nightly%20backup.tar.gz`,
    );
    expect(attachmentDisposition(`sauvegarde "été" 100%.tar.gz`)).toBe(
      `attachment; filename="sauvegarde __t__ 100_.tar.gz"; filename*=UTF-8''sauvegarde%20%22%C3%A9t%C3%A9%22%20100%25.tar.gz`,
    );
  });
});
