import {
  type MigratedBackup,
  type MigrateSummary,
  type MigrationPlan,
  migrateBackups,
  type OperationProgress,
  StrongboxError,
  validateServerId,
} from "@strongbox/core";
import { type Command, expectPositionals, parseCommandArgs, UsageError } from "../command.js";
import { plural } from "../format.js";
import { parseRateLimit, parseWholeNumber, RATE_LIMIT_HELP } from "../manager-from-flags.js";
import { createProgressOutput } from "../output.js";
import { PROGRESS_HELP, PROGRESS_OPTIONS, type ProgressDisplay } from "../progress.js";
import { openStorage } from "../storage-url.js";

const USAGE = `Usage: strongbox migrate --from <URL> --to <URL> [options]

Copies every successful backup (archive, then record) from one storage to another, checking each
archive's sha256 as it arrives. Backups already in the destination are skipped, so a second run copies
nothing and a stopped run goes on where it stopped. Prints one line per backup, then a summary;
exits 1 when any backup could not be copied.

Storage URLs: a folder, file:///abs/dir, or s3://bucket/prefix?endpoint=URL&region=R&forcePathStyle=true
(S3 credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS profile).

Options:
      --from <URL>         The storage to copy from
      --to <URL>           The storage to copy to (a local folder is created if missing)
      --server <ID>        Copy only this server's backups (default: every server)
      --concurrency <N>    Backups copied at the same time (default 4); an upload to S3 holds about
                           40 MiB of part buffers, so use fewer on a node short of memory
${RATE_LIMIT_HELP}
${PROGRESS_HELP}
      --json               Print the summary as {copied, skipped, failed: [{server, uuid, error}]}
  -h, --help               Show this help`;

const OPTIONS = {
  from: { type: "string" },
  to: { type: "string" },
  server: { type: "string" },
  concurrency: { type: "string" },
  "rate-limit": { type: "string" },
  json: { type: "boolean" },
  ...PROGRESS_OPTIONS,
} as const;

const REASONS: Record<NonNullable<MigratedBackup["reason"]>, string> = {
  already_present: "already there",
  failed_backup: "a failed backup",
  in_progress: "still in progress",
};

/** `strongbox migrate --from URL --to URL`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("migrate", args, OPTIONS);
    expectPositionals("migrate", positionals, []);
    if (values.from === undefined || values.to === undefined) {
      const missing = values.from === undefined ? "--from <URL>" : "--to <URL>";
      throw new UsageError(`migrate: missing ${missing} (see "strongbox migrate --help").`);
    }
    const server = values.server === undefined ? undefined : validateServerId(values.server);
    const concurrency = parseWholeNumber("migrate", "concurrency", values.concurrency);
    const rateLimit = parseRateLimit("migrate", values["rate-limit"]);
    const output = createProgressOutput("migrate", context, values);
    const from = await openStorage(values.from, { cwd: context.cwd });
    const to = await openStorage(values.to, { cwd: context.cwd, create: true });

    const bar = output.progress("migrate");
    const progress = migrationProgress(bar);
    let summary: MigrateSummary;
    try {
      summary = await migrateBackups({
        from,
        to,
        ...(server !== undefined && { server }),
        ...(concurrency !== undefined && { concurrency }),
        signal: context.signal,
        ...(rateLimit !== undefined && { rateLimit }),
        onPlanned: progress.planned,
        onProgress: progress.copying,
        onBackup: (result) => {
          progress.finished(result);
          if (output.json) return;
          bar.clear();
          void output.line(describeResult(result));
        },
      });
      bar.complete();
    } finally {
      bar.stop();
    }
    const { copied, skipped, failed } = summary;
    await output.result(summary, `copied ${copied}, skipped ${skipped}, failed ${failed.length}`);
    if (failed.length > 0) {
      throw new StrongboxError(
        "STORAGE_ERROR",
        `${plural(failed.length, "backup")} could not be copied (see above); fix the cause and run the migration again.`,
        { details: { failed } },
      );
    }
  },
};

/** `copied srv-1/<uuid>`, `skipped srv-1/<uuid> (already there)`, `failed srv-1/<uuid>: <error>`. */
function describeResult(result: MigratedBackup): string {
  const name = `${result.status} ${result.server}/${result.uuid}`;
  if (result.status === "failed") return `${name}: ${(result.error ?? "").replace(/\s*[\r\n]+\s*/g, " ")}`;
  return result.reason === undefined ? name : `${name} (${REASONS[result.reason]})`;
}

/**
 * One bar for the whole run, against the plan's total: the bytes of the backups gone through (copied,
 * skipped or failed, so that the bar reaches its end) and of those copying now; `files` counts backups.
 */
function migrationProgress(bar: ProgressDisplay) {
  let total: { totalBytes?: number; totalFiles?: number } = {};
  let finishedBytes = 0;
  let finished = 0;
  const copying = new Map<string, number>();
  const show = () => {
    let bytes = finishedBytes;
    for (const copied of copying.values()) bytes += copied;
    bar.update({ bytes, files: finished, ...total });
  };
  return {
    planned(plan: MigrationPlan) {
      total = { totalBytes: plan.bytes, totalFiles: plan.backups };
      show();
    },
    copying(progress: OperationProgress) {
      copying.set(`${progress.server}/${progress.backup}`, progress.bytes);
      show();
    },
    finished(result: MigratedBackup) {
      copying.delete(`${result.server}/${result.uuid}`);
      finishedBytes += result.bytes;
      finished++;
      show();
    },
  };
}
