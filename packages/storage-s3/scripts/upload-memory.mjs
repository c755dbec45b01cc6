/**
 * Memory check of the streaming upload, on the built package as an embedder runs it (plain Node, no
 * loader): sends a generated stream of unknown length to s3rver (in its own process, so only the uploader is
 * measured) and reports throughput and this process's peak RSS against the bound
 * `partSize × (queueSize + 2) + 100 MiB`. Exits 1 when the peak is over the bound.
 *
 *   pnpm build && node packages/storage-s3/scripts/upload-memory.mjs [sizeMiB=1024] [partSizeMiB=8] [queueSize=4] [--fresh-chunks]
 *
 * The stream hands over one random 64 KiB block again and again, so that its own memory stays flat and the
 * peak is the uploader's. With `--fresh-chunks` every chunk is a new allocation, as from a compressor: V8
 * then frees spent chunks lazily (tens of MiB at 100 MiB/s), which shows in the peak although the uploader
 * holds none of them.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { startFakeS3 } from "../test/helpers/fake-s3.mjs";

// The SDK warns once that it will soon need Node 22; the warning is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// Resolved through the package's own exports, without the `source` condition: the built dist/.
const { createS3Storage } = await import("@strongbox/storage-s3");

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const freshChunks = args.includes("--fresh-chunks");
const [sizeMiB = 1024, partSizeMiB = 8, queueSize = 4] = args
  .filter((arg) => !arg.startsWith("--"))
  .map(Number);

/** `total` bytes in 64 KiB chunks (new ones with `fresh`); the length is not announced. */
function generatedStream(total, fresh) {
  const block = randomBytes(64 * 1024);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(block.length, total - sent);
      sent += size;
      const chunk = block.subarray(0, size);
      this.push(fresh ? Buffer.from(chunk) : chunk);
    },
  });
}

const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

const s3 = await startFakeS3("memory-check");
try {
  const storage = createS3Storage({ ...s3.options, partSize: partSizeMiB * MiB, queueSize });
  const total = sizeMiB * MiB;
  const rssBefore = peakRss();
  const started = process.hrtime.bigint();
  const info = await storage.put("memory/check.bin", generatedStream(total, freshChunks));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peak = peakRss();
  const bound = partSizeMiB * MiB * (queueSize + 2) + 100 * MiB;

  console.log(
    `uploaded ${mib(info.size)} in ${seconds.toFixed(1)} s: ${(info.size / MiB / seconds).toFixed(0)} MiB/s`,
  );
  console.log(
    `part size ${partSizeMiB} MiB, ${queueSize} parts in parallel, ${freshChunks ? "a new" : "the same"} 64 KiB chunk each time`,
  );
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
