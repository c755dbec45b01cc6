import { backupObject } from "../backup-views.js";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import { requireTarget, TARGET_HELP, TARGET_OPTIONS, withManager } from "../manager-from-flags.js";
import { createOutput } from "../output.js";

const USAGE = `Usage: strongbox delete <uuid> --storage <URL> --server <ID> [options]

Deletes a backup: its archive, then its record. A locked backup, or one still running, is refused.

Options:
${TARGET_HELP}
      --json               Print the deleted backup as {object: "backup", attributes: {...}}
  -h, --help               Show this help`;

/** `strongbox delete <uuid> --storage URL --server ID`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("delete", args, TARGET_OPTIONS);
    const [uuid] = expectPositionals("delete", positionals, ["uuid"]);
    const target = requireTarget("delete", values);
    const record = await withManager(target, context, {}, async (manager) => {
      const found = await manager.get(target.server, uuid!);
      await manager.delete(target.server, found.uuid);
      return found;
    });
    const output = createOutput(context, { json: values.json ?? false });
    await output.result(
      backupObject(record),
      `Deleted backup ${record.uuid} ${JSON.stringify(record.name)}.`,
    );
  },
};
