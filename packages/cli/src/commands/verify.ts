import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { type BackupRecord, StrongboxError } from "@strongbox/core";
import { openBackupArchive } from "../backup-archive.js";
import { backupObject, describeBackup } from "../backup-views.js";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import { requireTarget, TARGET_HELP, TARGET_OPTIONS, withManager } from "../manager-from-flags.js";
import { createProgressOutput } from "../output.js";
import { PROGRESS_HELP, PROGRESS_OPTIONS, type ProgressDisplay } from "../progress.js";

const USAGE = `Usage: strongbox verify <uuid> --storage <URL> --server <ID> [options]

Reads the backup's archive from the storage and checks its sha256 and size against its record.
Exits 1 when they differ (the archive is damaged) or the archive is missing.

Options:
${TARGET_HELP}
${PROGRESS_HELP}
      --json               Print the verified backup as {object: "backup", attributes: {...}}
  -h, --help               Show this help`;

const OPTIONS = { ...TARGET_OPTIONS, ...PROGRESS_OPTIONS } as const;

/** `strongbox verify <uuid> --storage URL --server ID`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("verify", args, OPTIONS);
    const [uuid] = expectPositionals("verify", positionals, ["uuid"]);
    const target = requireTarget("verify", values);
    const output = createProgressOutput("verify", context, values);
    const bar = output.progress("verify");
    const record = await withManager(target, context, {}, async (manager, storage) => {
      const backup = { server: target.server, uuid: uuid!, action: "verified", signal: context.signal };
      const { record, archive } = await openBackupArchive(manager, storage, backup);
      await checkArchive(archive, record, bar);
      bar.complete();
      return record;
    }).finally(() => bar.stop());
    await output.result(backupObject(record), describeBackup(record).replace(/\.$/, ", verified."));
  },
};

/**
 * Streams the archive once through sha256 and compares digest and size with the record.
 * @throws StrongboxError `CHECKSUM_MISMATCH` when they differ.
 */
async function checkArchive(archive: Readable, record: BackupRecord, bar: ProgressDisplay): Promise<void> {
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of archive) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      bar.update({ bytes, files: 0, totalBytes: record.bytes });
    }
  } finally {
    archive.destroy();
  }
  const checksum = `sha256:${hash.digest("hex")}`;
  if (checksum !== record.checksum || bytes !== record.bytes) {
    throw new StrongboxError(
      "CHECKSUM_MISMATCH",
      `Backup ${record.uuid} is damaged: its archive (${bytes} bytes, ${checksum}) does not match its record (${record.bytes} bytes, ${record.checksum}).`,
      {
        details: { server: record.server, backup: record.uuid, expected: record.checksum, actual: checksum },
      },
    );
  }
}
