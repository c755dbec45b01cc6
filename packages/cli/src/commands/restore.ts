import { resolve } from "node:path";
import { backupObject } from "../backup-views.js";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import {
  parseRateLimit,
  RATE_LIMIT_HELP,
  requireTarget,
  TARGET_HELP,
  TARGET_OPTIONS,
  withManager,
} from "../manager-from-flags.js";
import { createProgressOutput } from "../output.js";
import { PROGRESS_HELP, PROGRESS_OPTIONS } from "../progress.js";
import { unquoteName } from "../tar-quote.js";

const USAGE = `Usage: strongbox restore <uuid> <dir> --storage <URL> --server <ID> [options]

Restores a successful backup into <dir> (created if missing; its parent must exist). The archive's
checksum is verified before anything in <dir> changes. By default it merges: backup files overwrite,
other files stay. Entries that would write outside <dir> are refused.

Options:
${TARGET_HELP}
      --truncate           Make <dir> hold exactly the backup; nothing is removed unless the archive is good
      --only <path>        Restore only this file or directory (relative to the backup's root), plain or
                           as "strongbox contents" prints it (\\351 for a byte); repeatable
${RATE_LIMIT_HELP}
${PROGRESS_HELP}
      --json               Print the backup restored as {object: "backup", attributes: {...}}
  -h, --help               Show this help`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  truncate: { type: "boolean" },
  only: { type: "string", multiple: true },
  "rate-limit": { type: "string" },
  ...PROGRESS_OPTIONS,
} as const;

/** `strongbox restore <uuid> <dir> --storage URL --server ID`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("restore", args, OPTIONS);
    const [uuid, dir] = expectPositionals("restore", positionals, ["uuid", "dir"]);
    const target = requireTarget("restore", values);
    const root = resolve(context.cwd, dir!);
    const truncate = values.truncate ?? false;
    const rateLimit = parseRateLimit("restore", values["rate-limit"]);

    const output = createProgressOutput("restore", context, values);
    const bar = output.progress("restore");
    const setup = { serverRoot: root, ...(bar.shown && { onProgress: bar.update }) };
    const record = await withManager(target, context, setup, async (manager) => {
      const found = await manager.get(target.server, uuid!);
      await manager.restore(target.server, found.uuid, {
        truncate,
        ...(values.only && { only: values.only.map(unquoteName) }),
        signal: context.signal,
        ...(rateLimit !== undefined && { rateLimit }),
      });
      bar.complete();
      return found;
    }).finally(() => bar.stop());
    const how = truncate ? "replacing its contents" : "merged with its contents";
    const human = `Restored backup ${record.uuid} ${JSON.stringify(record.name)} into ${dir} (${how}).`;
    await output.result(backupObject(record), human);
  },
};
