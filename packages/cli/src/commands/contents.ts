import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import { type ArchiveEntry, contents } from "@strongbox/core";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import { createOutput, type Output } from "../output.js";
import { requireFile } from "../paths.js";

const USAGE = `Usage: strongbox contents <file.tar.gz> [options]

Lists the entries of an archive, like "tar -tvzf" (use "strongbox list" for backups).

Options:
      --json   Print a JSON array of {path, type, size, mode, mtime, linkTarget?}
  -h, --help   Show this help`;

const OPTIONS = { json: { type: "boolean" } } as const;

/** `strongbox contents <file.tar.gz>`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("contents", args, OPTIONS);
    const [archive] = expectPositionals("contents", positionals, ["file.tar.gz"]);
    const file = resolve(context.cwd, archive!);
    await requireFile(file, "The archive");
    const output = createOutput(context, { json: values.json ?? false });
    const source = createReadStream(file);
    try {
      await (output.json ? printJson : printTable)(contents(source, { signal: context.signal }), output);
    } finally {
      source.destroy();
    }
  },
};

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

/** `drwxr-xr-x          0 2024-05-01 12:00 plugins/`, times in UTC. */
export function formatEntry(entry: ArchiveEntry): string {
  const permissions = [..."rwxrwxrwx"].map((letter, bit) => (entry.mode & (0o400 >> bit) ? letter : "-"));
  const time = entry.mtime.toISOString().slice(0, 16).replace("T", " ");
  const name = entry.type === "directory" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
  const link =
    entry.linkTarget === undefined
      ? ""
      : `${entry.type === "hardlink" ? " link to" : " ->"} ${entry.linkTarget}`;
  const size = String(entry.size).padStart(10);
  return `${TYPE_LETTERS[entry.type]}${permissions.join("")} ${size} ${time} ${name}${link}`;
}
