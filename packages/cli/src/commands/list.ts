import { backupTable, listObject } from "../backup-views.js";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import {
  parseWholeNumber,
  requireTarget,
  TARGET_HELP,
  TARGET_OPTIONS,
  withManager,
} from "../manager-from-flags.js";
import { createOutput } from "../output.js";

const USAGE = `Usage: strongbox list --storage <URL> --server <ID> [options]

Lists the server's backups, newest first, a page at a time (use "strongbox contents" for an archive's files).

Options:
${TARGET_HELP}
      --page <n>           Page to show (default 1)
      --per-page <n>       Backups per page (default 20, at most 50)
      --json               Print {object: "list", data: [backups], meta: {pagination, backup_count}}
  -h, --help               Show this help`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  page: { type: "string" },
  "per-page": { type: "string" },
} as const;

/** `strongbox list --storage URL --server ID`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("list", args, OPTIONS);
    expectPositionals("list", positionals, []);
    const target = requireTarget("list", values);
    const page = parseWholeNumber("list", "page", values.page);
    const perPage = parseWholeNumber("list", "per-page", values["per-page"]);
    const result = await withManager(target, context, {}, (manager) =>
      manager.list(target.server, {
        ...(page !== undefined && { page }),
        ...(perPage !== undefined && { perPage }),
      }),
    );
    const output = createOutput(context, { json: values.json ?? false });
    await output.result(listObject(result), backupTable(result).join("\n"));
  },
};
