import { type BackupRecord, StrongboxError } from "@strongbox/core";
import { backupObject, describeBackup } from "../backup-views.js";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import { requireTarget, TARGET_HELP, TARGET_OPTIONS, withManager } from "../manager-from-flags.js";
import { createProgressOutput } from "../output.js";
import { PROGRESS_HELP, PROGRESS_OPTIONS } from "../progress.js";

const USAGE = `Usage: strongbox verify <uuid> --storage <URL> --server <ID> [options]

Reads the backup's archive from the storage and checks its sha256 and size against its record, then
records the outcome in the record (verified_at, verification: passed or failed; "strongbox list" shows
it). Exits 1 when they differ (the archive is damaged) or the archive is missing.

Options:
${TARGET_HELP}
${PROGRESS_HELP}
      --json               Print the verified backup as {object: "backup", attributes: {...}}
  -h, --help               Show this help`;

const OPTIONS = { ...TARGET_OPTIONS, ...PROGRESS_OPTIONS } as const;

/** `strongbox verify <uuid> --storage URL --server ID`: {@link BackupManager.verify}, recorded. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("verify", args, OPTIONS);
    const [uuid] = expectPositionals("verify", positionals, ["uuid"]);
    const target = requireTarget("verify", values);
    const output = createProgressOutput("verify", context, values);
    const bar = output.progress("verify");
    const setup = bar.shown ? { onProgress: bar.update } : {};
    const record = await withManager(target, context, setup, async (manager) => {
      const verified = await manager.verify(target.server, uuid!, { signal: context.signal });
      if (verified.verification === "passed") bar.complete();
      return verified;
    }).finally(() => bar.stop());
    if (record.verification !== "passed") throw damaged(record);
    await output.result(backupObject(record), describeBackup(record).replace(/\.$/, ", verified."));
  },
};

/** `CHECKSUM_MISMATCH` with what the verification found wrong (a damaged or missing archive). */
function damaged(record: BackupRecord): StrongboxError {
  return new StrongboxError(
    "CHECKSUM_MISMATCH",
    record.verification_error ?? `Backup ${record.uuid} failed its verification.`,
    { details: { server: record.server, backup: record.uuid, verified_at: record.verified_at } },
  );
}
