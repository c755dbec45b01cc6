// node s3-upload.mjs <archive.tar.gz>: uploads an archive to a local s3rver through Strongbox's S3 adapter
// (streaming multipart put). s3rver starts and stops in this process's lifetime, so the upload alone is
// timed and reported as `seconds` and `cpuSeconds`; `maxRssKiB` is this process's (s3rver runs as a child).
import { createReadStream, statSync } from "node:fs";

// Silences the SDK's once-per-process notice that it will soon need Node 22 (read when the SDK loads).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const { createS3Storage } = await import("../../../packages/storage-s3/dist/index.js");
const { startFakeS3 } = await import("../../../packages/storage-s3/test/helpers/fake-s3.mjs");

const [archive] = process.argv.slice(2);
const s3 = await startFakeS3("strongbox-bench");
try {
  const storage = createS3Storage(s3.options);
  const start = performance.now();
  const startCpu = process.cpuUsage();
  const info = await storage.put("bench/archive.tar.gz", createReadStream(archive));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(startCpu);
  if (info.size !== statSync(archive).size)
    throw new Error(`Uploaded ${info.size} bytes, not the archive's.`);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    JSON.stringify({ seconds, cpuSeconds, bytes: info.size, maxRssKiB: process.resourceUsage().maxRSS }),
  );
} finally {
  await s3.stop();
}
