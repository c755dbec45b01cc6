// Multipart uploads a crash left: s3rver answers ListMultipartUploads with 501, so a service that lists them
// is played by the loopback proxy (canned pages), while the aborts reach s3rver.
import { streamPattern } from "@strongbox/core/testing";
import { beforeEach, describe, expect, it } from "vitest";
import type { S3StorageOptions } from "../src/index.js";
import { testStorage } from "./helpers/adapter.js";
import { isAbortMultipartUpload, type RecordedRequest } from "./helpers/fault-proxy.js";
import { useProxiedS3 } from "./helpers/proxied-s3.js";
import { s3ErrorXml } from "./helpers/s3rver.js";

const NOW = new Date("2026-03-01T12:00:00.000Z");
const HOUR = 3_600_000;
const isListUploads = (r: RecordedRequest) => r.method === "GET" && r.query.uploads !== undefined;

/** One page of a ListMultipartUploads answer; `next` set means more pages follow from that key. */
function uploadsPage(
  uploads: { key: string; id: string; ageMs: number }[],
  next?: { key: string; id: string },
) {
  const entries = uploads.map(
    ({ key, id, ageMs }) =>
      `<Upload><Key>${key}</Key><UploadId>${id}</UploadId><Initiated>${new Date(NOW.getTime() - ageMs).toISOString()}</Initiated></Upload>`,
  );
  const more = next
    ? `<IsTruncated>true</IsTruncated><NextKeyMarker>${next.key}</NextKeyMarker><NextUploadIdMarker>${next.id}</NextUploadIdMarker>`
    : "<IsTruncated>false</IsTruncated>";
  return {
    status: 200,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Prefix>node-1/</Prefix>${more}${entries.join("")}</ListMultipartUploadsResult>`,
  };
}

describe("abandoned multipart uploads", () => {
  const env = useProxiedS3();
  let notes: string[];

  beforeEach(() => {
    notes = [];
  });

  const storage = (options: Partial<S3StorageOptions> = {}) =>
    testStorage(env.proxy.endpoint, env.s3.bucket, {
      prefix: "node-1",
      abandonedUploadAgeMs: 24 * HOUR,
      now: () => NOW,
      debug: (message) => notes.push(message),
      ...options,
    });

  it("asks once, under the prefix, and skips with a debug note where the service cannot list them (s3rver: 501)", async () => {
    const adapter = storage();
    await adapter.put("srv/a.tar.gz", streamPattern(100, { seed: 1 }));
    await adapter.put("srv/b.tar.gz", streamPattern(100, { seed: 2 }));

    const lists = env.proxy.requests.filter(isListUploads);
    expect(lists.map((r) => r.query.prefix)).toEqual(["node-1/"]);
    expect(notes).toEqual([
      'The S3 service does not list multipart uploads (HTTP 501): abandoned uploads under "node-1/" are not cleaned up.',
    ]);
    expect(await adapter.stat("srv/b.tar.gz")).toMatchObject({ size: 100 });
  });

  it("aborts the uploads older than the bound, page after page, and leaves younger ones to their owners", async () => {
    env.proxy.addFault({
      match: (r) => isListUploads(r) && r.query["key-marker"] === undefined,
      action: uploadsPage(
        [
          { key: "node-1/srv/crashed.tar.gz", id: "old-1", ageMs: 30 * HOUR },
          { key: "node-1/srv/running.tar.gz", id: "young", ageMs: 2 * HOUR },
        ],
        { key: "node-1/srv/running.tar.gz", id: "young" },
      ),
      times: 1,
    });
    env.proxy.addFault({
      match: (r) => isListUploads(r) && r.query["key-marker"] === "node-1/srv/running.tar.gz",
      action: uploadsPage([{ key: "node-1/srv/older.json", id: "old-2", ageMs: 25 * HOUR }]),
      times: 1,
    });

    await storage().put("srv/a.tar.gz", streamPattern(100, { seed: 1 }));

    const aborts = env.proxy.requests.filter(isAbortMultipartUpload);
    expect(aborts.map((r) => [r.path, r.query.uploadId])).toEqual([
      [`/${env.s3.bucket}/node-1/srv/crashed.tar.gz`, "old-1"],
      [`/${env.s3.bucket}/node-1/srv/older.json`, "old-2"],
    ]);
    expect(env.proxy.requests.filter(isListUploads).map((r) => r.query["upload-id-marker"])).toEqual([
      undefined,
      "young",
    ]);
    expect(notes).toEqual(['Aborted 2 abandoned multipart upload(s) under "node-1/".']);
  });

  it("never fails the upload when the clean-up fails, and says why in a debug note", async () => {
    env.proxy.addFault({
      match: isListUploads,
      action: { status: 403, body: s3ErrorXml("AccessDenied", "Access Denied") },
    });

    const info = await storage().put("srv/a.tar.gz", streamPattern(100, { seed: 1 }));

    expect(info.size).toBe(100);
    expect(notes).toEqual([
      expect.stringMatching(/^Could not abort the abandoned multipart uploads in bucket .*access was denied/),
    ]);
  });

  it("leaves uploads alone with abandonedUploadAgeMs: false, and refuses a bound under a minute", async () => {
    await storage({ abandonedUploadAgeMs: false }).put("srv/a.tar.gz", streamPattern(100, { seed: 1 }));

    expect(env.proxy.requests.filter(isListUploads)).toEqual([]);
    expect(() => storage({ abandonedUploadAgeMs: 1000 })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringMatching(/from 60000/) }),
    );
  });
});
