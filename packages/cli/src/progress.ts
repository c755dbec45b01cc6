import { type OutputStream, UsageError } from "./command.js";
import { renderProgressJson, renderProgressLine } from "./progress-format.js";
import { createProgressMeter, type ProgressSample } from "./progress-meter.js";

/** `--progress`: a bar redrawn in place, JSON lines for scripts, or nothing. */
export type ProgressMode = "bar" | "json" | "none";

/** The option every command with progress takes. */
export const PROGRESS_OPTIONS = { progress: { type: "string" } } as const;

/** The help line of {@link PROGRESS_OPTIONS}. */
export const PROGRESS_HELP = `      --progress <mode>    bar (the default on a terminal), json (JSON lines on stderr) or none`;

/**
 * Reads `--progress`; without it, a bar when stderr is a terminal and nothing when it is piped or
 * redirected, so logs and scripts get clean output.
 * @throws UsageError for another value.
 */
export function progressMode(command: string, text: string | undefined, stderr: OutputStream): ProgressMode {
  if (text === undefined) return stderr.isTTY ? "bar" : "none";
  if (text === "bar" || text === "json" || text === "none") return text;
  throw new UsageError(`${command}: --progress must be bar, json or none, not "${text}".`);
}

/** The operations that report progress, with their label on the bar and what their `files` count. */
const OPERATIONS = {
  pack: { label: "packing", noun: "file" },
  unpack: { label: "unpacking", noun: "file" },
  backup: { label: "backing up", noun: "file" },
  restore: { label: "restoring", noun: "file" },
  verify: { label: "verifying", noun: undefined },
  migrate: { label: "migrating", noun: "backup" },
} as const;

export type ProgressOperation = keyof typeof OPERATIONS;

/** The progress of one operation on stderr, in the {@link ProgressMode} chosen. */
export interface ProgressDisplay {
  /** False with `none`: then commands skip work done only for progress. */
  readonly shown: boolean;
  /** Records the latest counters; shown at most every {@link REDRAW_INTERVAL_MS} (bar) or second (JSON). */
  update(sample: ProgressSample): void;
  /** Erases the bar before other text is written to stderr; the next update redraws it. */
  clear(): void;
  /** The operation succeeded: a last line at 100% (the bar's stays on screen). */
  complete(): void;
  /** The operation ended (call it in `finally`): erases the bar, or a `failed` JSON line; no-op after `complete`. */
  stop(): void;
}

/** Redraws are throttled: progress callbacks may fire thousands of times a second. */
export const REDRAW_INTERVAL_MS = 100;
/** JSON lines are for logs and scripts: one a second is plenty. */
export const JSON_INTERVAL_MS = 1_000;

const ERASE_LINE = "\r\x1b[K";

/** The progress display of `operation` on `stream` (stderr); `now` is injectable for tests. */
export function createProgressDisplay(
  stream: OutputStream,
  operation: ProgressOperation,
  mode: ProgressMode,
  now: () => number = Date.now,
): ProgressDisplay {
  if (mode === "none") return { shown: false, update() {}, clear() {}, complete() {}, stop() {} };
  const { label, noun } = OPERATIONS[operation];
  const meter = createProgressMeter(now);
  const interval = mode === "bar" ? REDRAW_INTERVAL_MS : JSON_INTERVAL_MS;
  let latest: ProgressSample = { bytes: 0, files: 0 };
  let lastShown = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let ended = false;
  // Some terminals (and `script`) report 0 columns: fall back to the classic 80.
  const width = () => Math.max((stream.columns || 80) - 1, 10);
  const erase = () => {
    if (drawn) stream.write(ERASE_LINE);
    drawn = false;
  };
  const end = (line: string) => {
    erase();
    stream.write(`${line}\n`);
    ended = true;
  };
  return {
    shown: true,
    update(sample) {
      latest = sample;
      if (ended || now() - lastShown < interval) return;
      lastShown = now();
      const view = meter.sample(sample);
      if (mode === "json") {
        stream.write(`${renderProgressJson(operation, view, "running")}\n`);
        return;
      }
      stream.write(ERASE_LINE + renderProgressLine(label, view, { width: width(), noun }));
      drawn = true;
    },
    clear: () => {
      if (mode === "bar") erase();
    },
    complete() {
      if (ended) return;
      const view = meter.finish(latest);
      end(
        mode === "json"
          ? renderProgressJson(operation, view, "done")
          : renderProgressLine(label, view, { width: width(), noun, finished: true }),
      );
    },
    stop() {
      if (ended) return;
      if (mode === "json") end(renderProgressJson(operation, meter.sample(latest), "failed"));
      else erase();
      ended = true;
    },
  };
}
