import type { Writable } from "node:stream";
import { type ParseArgsConfig, parseArgs } from "node:util";

/** A stream the CLI writes to; `isTTY` and `columns` are set when it is a terminal. */
export type OutputStream = Writable & { isTTY?: boolean; columns?: number };

/** What a command runs with: its streams, the cancellation signal, and the folder paths are relative to. */
export interface CommandContext {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Fires on SIGINT/SIGTERM; the running operation rejects with code `ABORTED`. */
  signal: AbortSignal;
  /** Folder that relative paths in arguments are resolved against. */
  cwd: string;
}

/**
 * One `strongbox <name>` command, in its own module under `commands/` exporting it as `command`.
 * `main` handles `--help`/`-h` (printing `usage`) before `run` is called.
 */
export interface Command {
  /** Full help text: synopsis, arguments, options. */
  usage: string;
  /** Parses `args` (what follows the command name) and does the work; throws to fail. */
  run(args: string[], context: CommandContext): Promise<void>;
}

/** Bad command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * `util.parseArgs` in strict mode with positionals, turning its errors into a {@link UsageError} that
 * points to the command's help.
 */
export function parseCommandArgs<const T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    if (!isParseArgsError(error)) throw error;
    // Node's messages go on with advice about `--`; the first sentence is the useful part.
    const reason = error.message.split(/\.\s/)[0]!.replace(/\.$/, "");
    throw new UsageError(`${command}: ${reason} (see "strongbox ${command} --help").`);
  }
}

/**
 * Checks the positional arguments against the names the command expects (all required) and returns
 * them in order.
 */
export function expectPositionals(
  command: string,
  positionals: string[],
  names: readonly string[],
): string[] {
  if (positionals.length < names.length) {
    const missing = names.slice(positionals.length).map((name) => `<${name}>`);
    throw new UsageError(`${command}: missing ${missing.join(" ")} (see "strongbox ${command} --help").`);
  }
  if (positionals.length > names.length) {
    throw new UsageError(`${command}: unexpected argument "${positionals[names.length]}".`);
  }
  return positionals;
}

function isParseArgsError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof TypeError && typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}
