/**
 * Memory check of the streaming upload: sends a generated stream of unknown length to s3rver (in its own
 * process, so only the uploader is measured) and reports throughput and this process's peak RSS against
 * the bound `partSize × (queueSize + 2) + 100 MiB`. Exits 1 when the peak is over the bound.
 *
 *   npx tsx --conditions=source packages/storage-s3/scripts/upload-memory.ts [sizeMiB=1024] [partSizeMiB=8] [queueSize=4]
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { createS3Storage } from "../src/index.js";
import { S3RVER_CREDENTIALS, startFakeS3 } from "../test/helpers/s3rver.js";

const MiB = 1024 * 1024;
const [sizeMiB = 1024, partSizeMiB = 8, queueSize = 4] = process.argv.slice(2).map(Number);

/** `total` bytes in fresh 64 KiB chunks, as a compressor would hand them over; the length is not announced. */
function generatedStream(total: number): Readable {
  const block = randomBytes(64 * 1024);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(block.length, total - sent);
      sent += size;
      this.push(Buffer.from(block.subarray(0, size)));
    },
  });
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

const s3 = await startFakeS3("memory-check");
try {
  const storage = createS3Storage({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    partSize: partSizeMiB * MiB,
    queueSize,
  });
  const total = sizeMiB * MiB;
  const rssBefore = process.resourceUsage().maxRSS * 1024;
  const started = process.hrtime.bigint();
  const info = await storage.put("memory/check.bin", generatedStream(total));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peak = process.resourceUsage().maxRSS * 1024;
  const bound = partSizeMiB * MiB * (queueSize + 2) + 100 * MiB;

  console.log(
    `uploaded ${mib(info.size)} in ${seconds.toFixed(1)} s: ${(info.size / MiB / seconds).toFixed(0)} MiB/s`,
  );
  console.log(`part size ${partSizeMiB} MiB, ${queueSize} parts in parallel`);
  console.log(`peak RSS ${mib(peak)} (before the upload: ${mib(rssBefore)}); bound ${mib(bound)}`);
  if (info.size !== total) throw new Error(`stored ${info.size} bytes instead of ${total}`);
  if (peak > bound) {
    console.error("FAIL: peak RSS is over the bound");
    process.exitCode = 1;
  } else {
    console.log("OK: peak RSS is within the bound");
  }
} finally {
  await s3.stop();
}
