import { formatBytes } from "@strongbox/core";
import { plural } from "./format.js";
import type { ProgressView } from "./progress-meter.js";

/** How a line is laid out. */
export interface LineLayout {
  /** Columns the line may take; the bar shrinks (down to {@link MIN_BAR_WIDTH}) and then the line is cut. */
  width: number;
  /** What `files` counts (`file`, `backup`); nothing is shown when undefined. */
  noun?: string | undefined;
  /** The final line: the bytes and the time they took (`411 MiB in 0:05`) instead of done/total and ETA. */
  finished?: boolean;
}

export const MIN_BAR_WIDTH = 10;
export const MAX_BAR_WIDTH = 40;

/**
 * `backing up [=====>      ]  42%  172 MiB / 411 MiB  85 MiB/s  ETA 0:03  1024 files`: without a total,
 * only what is known (`backing up  172 MiB  85 MiB/s  1024 files`); the final line says what it took
 * (`backing up [==========] 100%  411 MiB in 0:05  82 MiB/s  1024 files`). On a narrow terminal the bar
 * shrinks, then the count and the rate are left out, then the line is cut.
 */
export function renderProgressLine(label: string, view: ProgressView, layout: LineLayout): string {
  const { bytes, totalBytes } = view;
  const [size, timing] = layout.finished
    ? [`${formatBytes(bytes)} in ${formatDuration(view.elapsed)}`, undefined]
    : [
        totalBytes === undefined ? formatBytes(bytes) : `${formatBytes(bytes)} / ${formatBytes(totalBytes)}`,
        eta(view.eta),
      ];
  const rate = view.rate === undefined ? undefined : `${formatBytes(Math.round(view.rate))}/s`;
  const files = counter(view, layout.noun);
  // What a narrow terminal leaves out: first the count, then the rate.
  const choices = [
    [size, rate, timing, files],
    [size, rate, timing],
    [size, timing],
  ];
  let line = "";
  for (const parts of choices) {
    line = compose(label, view.ratio, parts, layout.width);
    if (line.length <= layout.width) return line;
  }
  return line.slice(0, layout.width);
}

/** The line with these parts, its bar as wide as `width` leaves room for (within the bounds). */
function compose(label: string, ratio: number | undefined, parts: (string | undefined)[], width: number) {
  const counters = parts.filter((part) => part !== undefined).join("  ");
  if (ratio === undefined) return `${label}  ${counters}`;
  const rest = ` ${`${Math.floor(ratio * 100)}%`.padStart(4)}  ${counters}`;
  const room = width - label.length - rest.length - 3;
  return `${label} [${bar(ratio, Math.min(Math.max(room, MIN_BAR_WIDTH), MAX_BAR_WIDTH))}]${rest}`;
}

/** `=====>     `: `ratio` of `width` filled (rounded down: full only when done), with a head while not full. */
function bar(ratio: number, width: number): string {
  const filled = Math.floor(ratio * width);
  const head = filled < width ? ">" : "";
  return "=".repeat(filled) + head + " ".repeat(width - filled - head.length);
}

function eta(seconds: number | undefined): string | undefined {
  return seconds === undefined ? undefined : `ETA ${formatDuration(seconds)}`;
}

/** `1024 files`, or `2/5 backups` when the total is known. */
function counter(view: ProgressView, noun: string | undefined): string | undefined {
  if (noun === undefined) return undefined;
  if (view.totalFiles === undefined) return plural(view.files, noun);
  return `${view.files}/${plural(view.totalFiles, noun)}`;
}

/** `0:07`, `12:34`, `1:02:03` (whole seconds, rounded up while counting down to zero). */
export function formatDuration(seconds: number): string {
  const total = Math.ceil(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

/** How an operation ended, for the last JSON line. */
export type ProgressState = "running" | "done" | "failed";

/** One `--progress=json` line (without the newline): numbers for scripts, `null` for what is unknown. */
export function renderProgressJson(operation: string, view: ProgressView, state: ProgressState): string {
  return JSON.stringify({
    type: "progress",
    operation,
    state,
    bytes: view.bytes,
    totalBytes: view.totalBytes ?? null,
    files: view.files,
    totalFiles: view.totalFiles ?? null,
    percent: view.ratio === undefined ? null : Math.floor(view.ratio * 1000) / 10,
    rate: view.rate === undefined ? null : Math.round(view.rate),
    eta: view.eta === undefined ? null : Math.ceil(view.eta),
    elapsed: Math.round(view.elapsed * 10) / 10,
  });
}
