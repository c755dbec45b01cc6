import { backupObject, describeBackup } from "../backup-views.js";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import { requireTarget, TARGET_HELP, TARGET_OPTIONS, withManager } from "../manager-from-flags.js";
import { createOutput } from "../output.js";

/** `strongbox lock` or, with `locked` false, `strongbox unlock`: sets a backup's lock and prints it. */
export function lockCommand(locked: boolean): Command {
  const name = locked ? "lock" : "unlock";
  const effect = locked
    ? "Locks a backup: it cannot be deleted until unlocked."
    : "Unlocks a backup, so that it can be deleted again.";
  return {
    usage: `Usage: strongbox ${name} <uuid> --storage <URL> --server <ID> [options]

${effect} Doing it twice changes nothing.

Options:
${TARGET_HELP}
      --json               Print the backup as {object: "backup", attributes: {...}}
  -h, --help               Show this help`,
    async run(args, context) {
      const { values, positionals } = parseCommandArgs(name, args, TARGET_OPTIONS);
      const [uuid] = expectPositionals(name, positionals, ["uuid"]);
      const target = requireTarget(name, values);
      const record = await withManager(target, context, {}, (manager) =>
        manager.setLocked(target.server, uuid!, locked),
      );
      const output = createOutput(context, { json: values.json ?? false });
      await output.result(backupObject(record), describeBackup(record));
    },
  };
}

/** `strongbox lock <uuid> --storage URL --server ID`. */
export const command: Command = lockCommand(true);
