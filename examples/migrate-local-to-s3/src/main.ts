// Moves every backup from a local folder to S3, as an operator would script it:
//   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... pnpm start /srv/backups "s3://bucket/node-1?region=eu-west-1"
// Each archive is verified against its checksum on arrival; run it again to finish an interrupted move.
import { migrateBackups } from "@strongbox/core";
import { createLocalStorage } from "@strongbox/storage-local";
import { createS3Storage, parseS3Url } from "@strongbox/storage-s3";

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  console.error("usage: pnpm start <local-folder> <s3://bucket/prefix?endpoint=...&region=...>");
  process.exit(2);
}

// Ctrl-C stops between bytes; what was copied stays, and the next run goes on from there.
const stop = new AbortController();
process.once("SIGINT", () => stop.abort());

const summary = await migrateBackups({
  from: createLocalStorage({ root: from }),
  to: createS3Storage(parseS3Url(to)),
  concurrency: 2,
  signal: stop.signal,
  onBackup: (result) => console.log(JSON.stringify({ backup: result })),
  onProgress: ({ backup, bytes, totalBytes }) =>
    console.error(`${backup}: ${bytes}/${totalBytes ?? "?"} bytes`),
});

console.log(JSON.stringify({ summary }));
// A failed copy (a damaged source archive) is listed and makes the run fail; the others are done.
process.exitCode = summary.failed.length > 0 ? 1 : 0;
