import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  decodePath,
  formatBytes,
  measureSourceBeside,
  type PackResult,
  packToFile,
  StrongboxError,
} from "@strongbox/core";
import { type Command, expectPositionals, parseCommandArgs, UsageError } from "../command.js";
import { describeCounts } from "../format.js";
import { createProgressOutput } from "../output.js";
import { requireDirectory, statOrUndefined } from "../paths.js";
import { PROGRESS_HELP, PROGRESS_OPTIONS } from "../progress.js";

const USAGE = `Usage: strongbox pack <dir> -o <file.tar.gz> [options]

Packs <dir> into a gzip-compressed tar archive and prints its sha256 checksum.
The archive appears only once complete; the root's .pteroignore rules always apply.

Options:
  -o, --output <file>      Archive to write (its folder must exist)
      --ignore <pattern>   gitignore-style rule (*.log, cache/, /world/session.lock); repeatable
      --ignore-file <file> File of rules, one per line, merged with --ignore
      --level <0-9>        gzip level (default 1, the fastest)
${PROGRESS_HELP}
      --json               Print the result as JSON: {file, checksum, bytes, files, ...}
  -h, --help               Show this help`;

const OPTIONS = {
  output: { type: "string", short: "o" },
  ignore: { type: "string", multiple: true },
  "ignore-file": { type: "string" },
  level: { type: "string" },
  json: { type: "boolean" },
  ...PROGRESS_OPTIONS,
} as const;

/** `strongbox pack <dir> -o <file.tar.gz>`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("pack", args, OPTIONS);
    const [dir] = expectPositionals("pack", positionals, ["dir"]);
    if (values.output === undefined) {
      throw new UsageError('pack: missing -o <file.tar.gz> (see "strongbox pack --help").');
    }
    const level = parseLevel(values.level);
    const output = createProgressOutput("pack", context, values);
    const root = resolve(context.cwd, dir!);
    const file = resolve(context.cwd, values.output);
    await requireDirectory(root, "The folder to pack");
    await requireDirectory(dirname(file), "The output file's folder");
    if ((await statOrUndefined(file))?.isDirectory()) {
      throw new StrongboxError("INVALID_INPUT", `The output "${file}" is a folder; name a file.`);
    }
    const ignoreFile = values["ignore-file"];
    const ignore = [
      ...(values.ignore ?? []),
      ...(ignoreFile === undefined ? [] : [await readIgnoreFile(resolve(context.cwd, ignoreFile))]),
    ];

    const progress = output.progress("pack");
    // The total is measured only for a display: a script's pack reads its folder once.
    const total = progress.shown ? measureSourceBeside({ root, ignore, signal: context.signal }) : undefined;
    let result: PackResult;
    try {
      result = await packToFile(root, file, {
        ignore,
        level,
        signal: context.signal,
        onProgress: (counters) => progress.update({ ...counters, ...total?.current() }),
        onWarning: output.warning,
      });
      progress.complete();
    } finally {
      total?.stop();
      progress.stop();
    }
    await output.result({ file, ...result }, describe(result, values.output));
  },
};

function parseLevel(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]$/.test(text)) {
    throw new UsageError(`pack: --level must be a whole number from 0 to 9, not "${text}".`);
  }
  return Number(text);
}

async function readIgnoreFile(path: string): Promise<string> {
  try {
    // Read as bytes, as the root's .pteroignore is: a rule with a byte that is not UTF-8 matches names
    // holding that byte. A byte-order mark starts the file, not its first rule (git drops it too).
    return decodePath(await readFile(path)).replace(/^\uFEFF/, "");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new StrongboxError("NOT_FOUND", `The ignore file "${path}" does not exist.`);
    throw new StrongboxError("INVALID_INPUT", `The ignore file "${path}" cannot be read (${code}).`, {
      cause: error,
    });
  }
}

function describe(result: PackResult, file: string): string {
  const counts = describeCounts(result);
  const skipped = result.skipped > 0 ? `; skipped ${result.skipped} (see warnings)` : "";
  return [
    `Packed ${counts} (${formatBytes(result.sourceBytes)}) into ${file} (${formatBytes(result.bytes)})${skipped}.`,
    result.checksum,
  ].join("\n");
}
