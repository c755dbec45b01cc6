import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { type ArchiveEntry, contents } from "@strongbox/core";
import { openBackupArchive } from "../backup-archive.js";
import { type Command, type CommandContext, expectPositionals, parseCommandArgs } from "../command.js";
import { requireTarget, TARGET_HELP, TARGET_OPTIONS, withManager } from "../manager-from-flags.js";
import { createOutput, type Output } from "../output.js";
import { requireFile } from "../paths.js";
import { quoteName } from "../tar-quote.js";

const USAGE = `Usage: strongbox contents <file.tar.gz> [options]
       strongbox contents <uuid> --storage <URL> --server <ID> [options]

Lists the entries of an archive, like "tar -tvzf" (use "strongbox list" for backups), names quoted as
tar prints them (a byte that is not UTF-8 as \\ooo, a backslash as \\\\).
With --storage, the archive is that of a successful backup, read from the storage.

Options:
${TARGET_HELP}
      --json               Print a JSON array of {path, type, size, mode, mtime, linkTarget?}; a byte of a
                           name that is not UTF-8 is written as the escape \\udc80-\\udcff
  -h, --help               Show this help`;

const OPTIONS = TARGET_OPTIONS;

/** `strongbox contents <file.tar.gz>`, or `strongbox contents <uuid> --storage URL --server ID`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("contents", args, OPTIONS);
    const inStorage = values.storage !== undefined || values.server !== undefined;
    const [name] = expectPositionals("contents", positionals, [inStorage ? "uuid" : "file.tar.gz"]);
    const output = createOutput(context, { json: values.json ?? false });
    if (!inStorage) {
      const file = resolve(context.cwd, name!);
      await requireFile(file, "The archive");
      await printContents(createReadStream(file), output, context);
      return;
    }
    const target = requireTarget("contents", values);
    await withManager(target, context, {}, async (manager, storage) => {
      const backup = { server: target.server, uuid: name!, action: "listed", signal: context.signal };
      const { archive } = await openBackupArchive(manager, storage, backup);
      await printContents(archive, output, context);
    });
  },
};

async function printContents(source: Readable, output: Output, context: CommandContext): Promise<void> {
  try {
    await (output.json ? printJson : printTable)(contents(source, { signal: context.signal }), output);
  } finally {
    source.destroy();
  }
}

/** One JSON array, written entry by entry so a huge archive never sits in memory. */
async function printJson(entries: AsyncIterable<ArchiveEntry>, output: Output) {
  await output.line("[");
  let pending: string | undefined;
  for await (const entry of entries) {
    if (pending !== undefined) await output.line(`  ${pending},`);
    pending = JSON.stringify(entry);
  }
  if (pending !== undefined) await output.line(`  ${pending}`);
  await output.line("]");
}

async function printTable(entries: AsyncIterable<ArchiveEntry>, output: Output) {
  for await (const entry of entries) {
    await output.line(formatEntry(entry));
  }
}

const TYPE_LETTERS: Record<ArchiveEntry["type"], string> = {
  file: "-",
  directory: "d",
  symlink: "l",
  hardlink: "h",
  other: "?",
};

/** `drwxr-xr-x          0 2024-05-01 12:00 plugins/`, times in UTC, names quoted as `tar -t` does. */
export function formatEntry(entry: ArchiveEntry): string {
  const permissions = [..."rwxrwxrwx"].map((letter, bit) => (entry.mode & (0o400 >> bit) ? letter : "-"));
  const time = entry.mtime.toISOString().slice(0, 16).replace("T", " ");
  const path = quoteName(entry.path);
  const name = entry.type === "directory" && !path.endsWith("/") ? `${path}/` : path;
  const link =
    entry.linkTarget === undefined
      ? ""
      : `${entry.type === "hardlink" ? " link to" : " ->"} ${quoteName(entry.linkTarget)}`;
  const size = String(entry.size).padStart(10);
  return `${TYPE_LETTERS[entry.type]}${permissions.join("")} ${size} ${time} ${name}${link}`;
}
