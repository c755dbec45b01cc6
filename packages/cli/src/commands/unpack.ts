import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import { type ExtractResult, extract, formatBytes } from "@strongbox/core";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import { describeCounts } from "../format.js";
import { createProgressOutput } from "../output.js";
import { requireFile } from "../paths.js";
import { PROGRESS_HELP, PROGRESS_OPTIONS } from "../progress.js";
import { unquoteName } from "../tar-quote.js";

const USAGE = `Usage: strongbox unpack <file.tar.gz> <dir> [options]

Extracts the archive into <dir> (created if missing; its parent must exist).
By default it merges: archive entries overwrite, other files in <dir> stay.
Entries that would write outside <dir> (.., through symlinks) are refused; absolute
names lose their leading / and are extracted inside <dir>, with a warning, as GNU tar does.

Options:
      --truncate           Make <dir> hold exactly the archive; nothing is removed unless the archive is good
      --only <path>        Extract only this file or directory (relative to the archive root), plain or as
                           "strongbox contents" and "tar -t" print it (\\351 for a byte); repeatable
${PROGRESS_HELP}
      --json               Print the result as JSON: {target, checksum, files, directories, symlinks, bytes}
  -h, --help               Show this help`;

const OPTIONS = {
  truncate: { type: "boolean" },
  only: { type: "string", multiple: true },
  json: { type: "boolean" },
  ...PROGRESS_OPTIONS,
} as const;

/** `strongbox unpack <file.tar.gz> <dir>`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("unpack", args, OPTIONS);
    const [archive, dir] = expectPositionals("unpack", positionals, ["file.tar.gz", "dir"]);
    const file = resolve(context.cwd, archive!);
    const target = resolve(context.cwd, dir!);
    const output = createProgressOutput("unpack", context, values);
    const totalBytes = await requireFile(file, "The archive");

    const progress = output.progress("unpack");
    const source = createReadStream(file);
    let result: ExtractResult;
    try {
      result = await extract(source, target, {
        mode: values.truncate ? "truncate" : "merge",
        only: values.only?.map(unquoteName),
        totalBytes,
        signal: context.signal,
        onProgress: progress.update,
        onWarning: output.warning,
      });
      progress.complete();
    } finally {
      progress.stop();
      source.destroy();
    }
    const summary = `Unpacked ${describeCounts(result)} (${formatBytes(result.bytes)}) into ${dir}.`;
    await output.result({ target, ...result }, `${summary}\n${result.checksum}`);
  },
};
