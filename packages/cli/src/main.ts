import { readFileSync } from "node:fs";
import { type Command, type CommandContext, UsageError } from "./command.js";
import { EXIT_CODES, reportError } from "./output.js";

/** A command's line in the help, and how to load its module (loaded only when it runs). */
interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: Command }>;
}

/**
 * Every `strongbox` command. To add one: write `commands/<name>.ts` exporting `command`, add a line here.
 */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  pack: { summary: "Pack a directory into a .tar.gz archive", load: () => import("./commands/pack.js") },
  unpack: {
    summary: "Extract a .tar.gz archive into a directory",
    load: () => import("./commands/unpack.js"),
  },
  contents: {
    summary: "List the entries of a .tar.gz archive or of a stored backup",
    load: () => import("./commands/contents.js"),
  },
  backup: { summary: "Back up a server's folder into a storage", load: () => import("./commands/backup.js") },
  list: { summary: "List a server's backups in a storage", load: () => import("./commands/list.js") },
  restore: {
    summary: "Restore a backup into a server's folder",
    load: () => import("./commands/restore.js"),
  },
  verify: {
    summary: "Check a backup's archive against its checksum and record the outcome",
    load: () => import("./commands/verify.js"),
  },
  drill: {
    summary: "Restore a backup into a temporary folder and compare it with its listing",
    load: () => import("./commands/drill.js"),
  },
  lock: { summary: "Lock a backup so it cannot be deleted", load: () => import("./commands/lock.js") },
  unlock: { summary: "Unlock a backup", load: () => import("./commands/unlock.js") },
  delete: { summary: "Delete a backup", load: () => import("./commands/delete.js") },
  forget: { summary: "Remove backups by keep rules", load: () => import("./commands/forget.js") },
  "download-url": {
    summary: "Print a signed download link for a backup",
    load: () => import("./commands/download-url.js"),
  },
  migrate: {
    summary: "Copy every backup from one storage to another",
    load: () => import("./commands/migrate.js"),
  },
  serve: {
    summary: "Serve the backup HTTP API for the servers in a folder",
    load: () => import("./commands/serve.js"),
  },
};

/**
 * Runs the command line `args` (without `node` and the script) and resolves to the exit code; never
 * throws. Streams, signal and working folder default to the process's.
 */
export async function main(args: readonly string[], context: Partial<CommandContext> = {}): Promise<number> {
  const full: CommandContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: new AbortController().signal,
    cwd: process.cwd(),
    ...context,
  };
  try {
    return await dispatch(args, full);
  } catch (error) {
    return reportError(error, full.stderr);
  }
}

async function dispatch([name, ...rest]: readonly string[], context: CommandContext): Promise<number> {
  if (name === undefined) {
    context.stderr.write(generalHelp());
    return EXIT_CODES.usage;
  }
  if (name === "--help" || name === "-h" || (name === "help" && rest.length === 0)) {
    context.stdout.write(generalHelp());
    return EXIT_CODES.ok;
  }
  if (name === "--version") {
    context.stdout.write(`${readVersion()}\n`);
    return EXIT_CODES.ok;
  }
  if (name === "help") return dispatch([rest[0]!, "--help"], context);
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) throw new UsageError(`unknown command "${name}" (see "strongbox --help").`);
  const { command } = await entry.load();
  if (wantsHelp(rest)) {
    context.stdout.write(command.usage.endsWith("\n") ? command.usage : `${command.usage}\n`);
    return EXIT_CODES.ok;
  }
  await command.run(rest, context);
  return EXIT_CODES.ok;
}

/** `--help` or `-h` anywhere before a `--`. */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

function generalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}${entry.summary}`);
  return [
    "Usage: strongbox <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    'Run "strongbox <command> --help" for its arguments and options; "strongbox --version" for the version.',
    "",
  ].join("\n");
}

function readVersion(): string {
  // ../package.json is the package's own from both src/ and dist/.
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return String(manifest.version);
}
