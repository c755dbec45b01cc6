import { resolve } from "node:path";
import { abortError, type BackupRecord, StrongboxError } from "@strongbox/core";
import { backupObject, describeBackup } from "../backup-views.js";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import {
  backupWarnings,
  parseRateLimit,
  RATE_LIMIT_HELP,
  requireTarget,
  TARGET_HELP,
  TARGET_OPTIONS,
  withManager,
} from "../manager-from-flags.js";
import { createProgressOutput } from "../output.js";
import { requireDirectory } from "../paths.js";
import { PROGRESS_HELP, PROGRESS_OPTIONS } from "../progress.js";

const USAGE = `Usage: strongbox backup <dir> --storage <URL> --server <ID> [options]

Backs up <dir> as a new backup of the server, waits until it is stored, and prints its record.
The root's .pteroignore rules always apply. Ctrl-C cancels: the backup ends failed ("cancelled")
and no partial archive is left. Backups that other processes run are never touched.

Options:
${TARGET_HELP}
      --name <name>        Name of the backup (default "Backup at YYYY-MM-DD HH:MM:SS", UTC)
      --ignore <pattern>   gitignore-style rule (*.log, cache/, /world/session.lock); repeatable
      --lock               Create the backup locked: it cannot be deleted until unlocked
${RATE_LIMIT_HELP}
${PROGRESS_HELP}
      --json               Print the backup as {object: "backup", attributes: {...}}
  -h, --help               Show this help`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  name: { type: "string" },
  ignore: { type: "string", multiple: true },
  lock: { type: "boolean" },
  "rate-limit": { type: "string" },
  ...PROGRESS_OPTIONS,
} as const;

/** `strongbox backup <dir> --storage URL --server ID`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("backup", args, OPTIONS);
    const [dir] = expectPositionals("backup", positionals, ["dir"]);
    const target = requireTarget("backup", values);
    const output = createProgressOutput("backup", context, values);
    const rateLimit = parseRateLimit("backup", values["rate-limit"]);
    const root = resolve(context.cwd, dir!);
    await requireDirectory(root, "The folder to back up");

    const bar = output.progress("backup");
    const setup = {
      serverRoot: root,
      create: true,
      ...(bar.shown && { onProgress: bar.update }),
      onWarning: backupWarnings(output, context.stderr, bar),
    };
    let record: BackupRecord;
    try {
      record = await withManager(target, context, setup, async (manager) => {
        const started = await manager.create(target.server, {
          ...(values.name !== undefined && { name: values.name }),
          ignored: values.ignore ?? [],
          locked: values.lock ?? false,
          signal: context.signal,
          ...(rateLimit !== undefined && { rateLimit }),
        });
        // Not given the signal: a cancelled backup is awaited until its record is failed and its
        // partial archive removed.
        return manager.wait(target.server, started.uuid);
      });
      if (record.is_successful) bar.complete();
    } finally {
      bar.stop();
    }
    // A backup that finished just before Ctrl-C stands: it is printed like any other.
    if (!record.is_successful && context.signal.aborted) throw abortError(context.signal, "The backup");
    if (!record.is_successful && output.json) await output.result(backupObject(record), "");
    if (!record.is_successful) {
      throw new StrongboxError(
        "BACKUP_NOT_SUCCESSFUL",
        `Backup ${record.uuid} failed: ${record.error ?? "no reason given"}`,
        {
          details: { server: record.server, backup: record.uuid },
        },
      );
    }
    await output.result(backupObject(record), describeBackup(record));
  },
};
