import { formatBytes, type Progress } from "@strongbox/core";
import type { OutputStream } from "./command.js";
import { plural } from "./format.js";

/** A one-line progress display; every method is a no-op when the stream is not a terminal. */
export interface ProgressBar {
  /** Records the latest counters; redrawn at most every {@link REDRAW_INTERVAL_MS}. */
  update(progress: Progress): void;
  /** Erases the line (before other text is written to the stream); the next update redraws it. */
  clear(): void;
  /** Erases the line for good. */
  done(): void;
}

/** Redraws are throttled: progress callbacks may fire thousands of times a second. */
export const REDRAW_INTERVAL_MS = 100;

const BAR_WIDTH = 24;
const ERASE_LINE = "\r\x1b[K";

/**
 * A progress bar on `stream` (stderr) when it is a terminal; nothing at all when it is piped or
 * redirected, so logs and scripts get clean output. `now` is injectable for tests.
 */
export function createProgressBar(stream: OutputStream, label: string, now = Date.now): ProgressBar {
  if (!stream.isTTY) return { update() {}, clear() {}, done() {} };
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let finished = false;
  const erase = () => {
    if (drawn) stream.write(ERASE_LINE);
    drawn = false;
  };
  return {
    update(progress) {
      if (finished || now() - lastDraw < REDRAW_INTERVAL_MS) return;
      lastDraw = now();
      // Some terminals (and `script`) report 0 columns: fall back to the classic 80.
      const width = Math.max((stream.columns || 80) - 1, 10);
      stream.write(ERASE_LINE + renderProgress(label, progress).slice(0, width));
      drawn = true;
    },
    clear: erase,
    done() {
      erase();
      finished = true;
    },
  };
}

/** `packing [=====>      ]  42%  1,024 files  12.0 MiB`, without the bar when the total is unknown. */
export function renderProgress(label: string, progress: Progress): string {
  const counters = `${plural(progress.files, "file")}  ${formatBytes(progress.bytes)}`;
  const total = progress.totalBytes;
  if (total === undefined || total <= 0) return `${label}  ${counters}`;
  const ratio = Math.min(progress.bytes / total, 1);
  const filled = Math.round(ratio * BAR_WIDTH);
  const head = filled < BAR_WIDTH ? ">" : "";
  const bar = "=".repeat(filled) + head + " ".repeat(BAR_WIDTH - filled - head.length);
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${label} [${bar}] ${percent}  ${counters}`;
}
