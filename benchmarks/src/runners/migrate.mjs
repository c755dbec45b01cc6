// node migrate.mjs <tree> <ignore-json> <backups>: migration throughput. A child process makes <backups>
// backups of the tree with a BackupManager on a local-disk storage (not timed); this process then times
// `migrateBackups` copying them to a local s3rver through the S3 adapter, each archive's sha256 verified on
// arrival. Reports `seconds` and `cpuSeconds` of the copy, the archive `bytes` copied, and this process's
// `maxRssKiB` (s3rver runs as a child process).
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createBackupManager, migrateBackups } from "@strongbox/core";

// Silences the SDK's once-per-process notice that it will soon need Node 22 (read when the SDK loads).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const { createLocalStorage } = await import("../../../packages/storage-local/dist/index.js");

const [first, ...rest] = process.argv.slice(2);
if (first === "--make-backups") {
  const [storageRoot, tree, ignore, backups] = rest;
  const manager = createBackupManager({
    storage: createLocalStorage({ root: storageRoot }),
    serverRoot: () => tree,
  });
  let bytes = 0;
  for (let i = 0; i < Number(backups); i++) {
    const started = await manager.create("bench-1", { name: `backup ${i}`, ignored: JSON.parse(ignore) });
    const done = await manager.wait("bench-1", started.uuid);
    if (!done.is_successful) throw new Error(`Backup ${i} failed.`);
    bytes += done.bytes;
  }
  await manager.close();
  console.log(bytes);
} else {
  const [tree, ignore, backups] = [first, ...rest];
  const { createS3Storage } = await import("../../../packages/storage-s3/dist/index.js");
  const { startFakeS3 } = await import("../../../packages/storage-s3/test/helpers/fake-s3.mjs");
  const work = await mkdtemp(join(tmpdir(), "strongbox-bench-migrate-"));
  const storageRoot = join(work, "backups");
  const made = execFileSync(
    process.execPath,
    [fileURLToPath(import.meta.url), "--make-backups", storageRoot, tree, ignore, backups],
    { encoding: "utf8" },
  );
  const bytes = Number(made.trim());
  const s3 = await startFakeS3("strongbox-bench");
  try {
    const to = createS3Storage(s3.options);
    const start = performance.now();
    const startCpu = process.cpuUsage();
    const summary = await migrateBackups({ from: createLocalStorage({ root: storageRoot }), to });
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(startCpu);
    if (summary.copied !== Number(backups) || summary.failed.length > 0)
      throw new Error(`Migration copied ${summary.copied} of ${backups}: ${JSON.stringify(summary.failed)}`);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    console.log(JSON.stringify({ seconds, cpuSeconds, bytes, maxRssKiB: process.resourceUsage().maxRSS }));
  } finally {
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  }
}
