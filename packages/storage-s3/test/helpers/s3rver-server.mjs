// Child process that runs s3rver for the tests: `node --openssl-legacy-provider s3rver-server.mjs <dir> <bucket>`.
// It reports `{ port }` over IPC once listening, and exits when the parent disconnects.
// These s3rver 3.7 gaps are closed here, so that tests see S3's behaviour:
// - continuation tokens are DES-encrypted, which OpenSSL 3 only offers with the legacy provider (hence
//   the flag, and hence a separate process: the test process must not change its own crypto);
// - AbortMultipartUpload answers 405: it is emulated (parts deleted, 204; 404 NoSuchUpload if unknown),
//   and parts of an aborted upload are refused with NoSuchUpload rather than stored again;
// - `Range: bytes=0-0` returns the whole object (it tests `end || Infinity`): it is fitted to one byte;
// - listings follow the folder tree (`a/1` before `a-b/5`), not S3's byte order, and pages skip keys:
//   they are sorted by key bytes before being cut into pages.
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { Readable } from "node:stream";
import S3rver from "s3rver";
import S3Error from "s3rver/lib/models/error.js";

const [directory, bucket] = process.argv.slice(2);
const s3rver = new S3rver({ silent: true, directory, configureBuckets: [{ name: bucket }] });
await s3rver.configureBuckets();
fixFirstByteRange(s3rver.store);
sortListings(s3rver.store);
const parts = refusePartsOfAbortedUploads(s3rver.store);
const handle = s3rver.callback();
const uploadsDir = join(directory, bucket, "._S3rver_uploads");

const server = createServer((req, res) => {
  const uploadId = new URL(req.url ?? "/", "http://127.0.0.1").searchParams.get("uploadId");
  if (req.method === "DELETE" && uploadId !== null) void abortUpload(uploadId, res);
  else handle(req, res);
});
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
process.on("disconnect", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});

async function abortUpload(uploadId, res) {
  await parts.abort(uploadId);
  const uploadDir = join(uploadsDir, uploadId);
  const known = await stat(uploadDir).then(
    () => true,
    () => false,
  );
  if (!known) {
    res.writeHead(404, { "content-type": "application/xml" });
    res.end(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>',
    );
    return;
  }
  await rm(uploadDir, { recursive: true, force: true });
  res.writeHead(204).end();
}

/**
 * s3rver writes a part to disk as it arrives and creates the upload's folder on the way, so a part still
 * arriving when the upload is aborted (its client gave up on it, or it is slow) would bring the folder back,
 * or make the abort's removal fail half-way. Here a part is received whole first, and then refused if its
 * upload was aborted meanwhile; an abort waits for the parts already being written.
 */
function refusePartsOfAbortedUploads(store) {
  const putPart = store.putPart.bind(store);
  const aborted = new Set();
  const writing = new Set();
  const refuseIfAborted = (uploadId) => {
    if (aborted.has(uploadId)) throw new S3Error("NoSuchUpload", "The specified upload does not exist.");
  };
  store.putPart = async (bucketName, uploadId, partNumber, content) => {
    refuseIfAborted(uploadId);
    const chunks = [];
    for await (const chunk of content) chunks.push(chunk);
    refuseIfAborted(uploadId);
    const written = putPart(bucketName, uploadId, partNumber, Readable.from(chunks));
    writing.add(written);
    return written.finally(() => writing.delete(written));
  };
  return {
    async abort(uploadId) {
      aborted.add(uploadId);
      await Promise.allSettled(writing);
    },
  };
}

function fixFirstByteRange(store) {
  const getObject = store.getObject.bind(store);
  store.getObject = async (bucketName, key, options) => {
    const object = await getObject(bucketName, key, options);
    if (options?.end === 0 && object?.content) {
      object.content.destroy();
      object.content = createReadStream(store.getResourcePath(bucketName, key, "object"), {
        start: 0,
        end: 0,
      });
      object.range = { start: 0, end: 0 };
    }
    return object;
  };
}

function sortListings(store) {
  const listObjects = store.listObjects.bind(store);
  store.listObjects = async (bucketName, options) => {
    const { startAfter = "", maxKeys = Number.POSITIVE_INFINITY } = options;
    const all = await listObjects(bucketName, {
      ...options,
      startAfter: "",
      maxKeys: Number.POSITIVE_INFINITY,
    });
    const objects = all.objects
      .filter((object) => object.key > startAfter)
      .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    return { ...all, objects: objects.slice(0, maxKeys), isTruncated: objects.length > maxKeys };
  };
}
