import { once } from "node:events";
import type { ArchiveWarning } from "@strongbox/core";
import { isStrongboxError } from "@strongbox/core";
import { type CommandContext, type OutputStream, UsageError } from "./command.js";
import {
  createProgressDisplay,
  type ProgressDisplay,
  type ProgressMode,
  type ProgressOperation,
  progressMode,
} from "./progress.js";
import { escapeRawBytes, quoteName } from "./tar-quote.js";

/** Exit codes: 0 success, 1 failure, 2 bad command line, 130 cancelled (as shells report SIGINT). */
export const EXIT_CODES = { ok: 0, failure: 1, usage: 2, aborted: 130 } as const;

/**
 * How a command talks to its user. stdout holds only the result (one JSON document with `--json`);
 * warnings, progress and errors go to stderr.
 */
export interface Output {
  /** True with `--json`. */
  readonly json: boolean;
  /** Prints the result: `data` as JSON with `--json`, else the `human` text. */
  result(data: unknown, human: string): Promise<void>;
  /** Writes one line to stdout, waiting while the reader catches up (long listings stay flat in memory). */
  line(text: string): Promise<void>;
  /** Reports a non-fatal problem on stderr: `strongbox: warning: ...`, or a JSON line with `--json`. */
  warning(warning: ArchiveWarning): void;
  /** The progress of `operation` on stderr, as `--progress` chose (bar, JSON lines or nothing). */
  progress(operation: ProgressOperation): ProgressDisplay;
}

/** The {@link Output} of one command run. */
export function createOutput(
  context: CommandContext,
  options: { json: boolean; progress?: ProgressMode },
): Output {
  let bar: ProgressDisplay | undefined;
  const line = (text: string) => writeLine(context.stdout, text);
  return {
    json: options.json,
    line,
    result: (data, human) => line(options.json ? JSON.stringify(data, null, 2) : human),
    warning(warning) {
      bar?.clear();
      const text = options.json
        ? JSON.stringify({ warning })
        : `strongbox: warning: ${quoteName(warning.path)}: ${oneLine(warning.message)}`;
      context.stderr.write(`${text}\n`);
    },
    progress(operation) {
      bar = createProgressDisplay(context.stderr, operation, options.progress ?? "none");
      return bar;
    },
  };
}

/** The {@link Output} of a command that reports progress, from its `--json` and `--progress` flags. */
export function createProgressOutput(
  command: string,
  context: CommandContext,
  flags: { json?: boolean | undefined; progress?: string | undefined },
): Output {
  const progress = progressMode(command, flags.progress, context.stderr);
  return createOutput(context, { json: flags.json ?? false, progress });
}

/** Prints `error` as one line on stderr (`strongbox: <message>`) and returns the exit code for it. */
export function reportError(error: unknown, stderr: OutputStream): number {
  const message = error instanceof Error && error.message !== "" ? error.message : String(error);
  stderr.write(`strongbox: ${oneLine(message)}\n`);
  if (error instanceof UsageError) return EXIT_CODES.usage;
  if (isStrongboxError(error, "ABORTED")) return EXIT_CODES.aborted;
  return EXIT_CODES.failure;
}

/** One line for a terminal; a byte of a name that is not UTF-8 shows as `\ooo`, not as "?". */
function oneLine(text: string): string {
  return escapeRawBytes(text.replace(/\s*[\r\n]+\s*/g, " ").trim());
}

async function writeLine(stream: OutputStream, text: string): Promise<void> {
  if (!stream.write(`${text}\n`)) await once(stream, "drain");
}
