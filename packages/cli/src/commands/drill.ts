import { resolve } from "node:path";
import { StrongboxError } from "@strongbox/core";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import { describeDrill, differenceCount } from "../drill-report.js";
import { plural } from "../format.js";
import { requireTarget, TARGET_HELP, TARGET_OPTIONS, withManager } from "../manager-from-flags.js";
import { createOutput } from "../output.js";

const USAGE = `Usage: strongbox drill <uuid> --storage <URL> --server <ID> [options]

A restore drill: restores the backup into a temporary folder (checksum verified first), compares every
entry with the archive's listing (names, kinds, sizes, sha256 of each file, link targets), reports, and
removes the folder, whatever happens. No server folder is read or written. Exits 1 when anything differs.

Options:
${TARGET_HELP}
      --temp <DIR>         Where to make the temporary folder (default: the system's temp folder)
      --json               Print the report: {object: "drill", attributes: {passed, files, directories,
                           links, bytes, skipped, differences: [{path, problem, expected?, actual?}], ...}}
  -h, --help               Show this help`;

const OPTIONS = { ...TARGET_OPTIONS, temp: { type: "string" } } as const;

/** `strongbox drill <uuid> --storage URL --server ID`: {@link BackupManager.drill}. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("drill", args, OPTIONS);
    const [uuid] = expectPositionals("drill", positionals, ["uuid"]);
    const target = requireTarget("drill", values);
    const tempDir = values.temp === undefined ? undefined : resolve(context.cwd, values.temp);
    const report = await withManager(target, context, {}, (manager) =>
      manager.drill(target.server, uuid!, { signal: context.signal, ...(tempDir && { tempDir }) }),
    );
    const output = createOutput(context, { json: values.json ?? false });
    await output.result({ object: "drill", attributes: report }, describeDrill(report));
    if (!report.passed) {
      throw new StrongboxError(
        "CHECKSUM_MISMATCH",
        `Backup ${report.backup} did not restore as its listing says: ${plural(differenceCount(report), "difference")}.`,
        { details: { server: report.server, backup: report.backup } },
      );
    }
  },
};
