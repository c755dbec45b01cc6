import { resolvePackInput } from "../archive/pack/pack-input.js";
import { measureTree, type TreeSize } from "../io/source-size.js";

/** The total a progress display shows for a pack of a folder, once it is known. */
export interface SourceTotal {
  /** `{totalBytes}` once known, else `{}`: spread into each progress report. */
  current(): { totalBytes?: number };
  /** Stops a walk still running (the pack ended first). */
  stop(): void;
}

/** The folder a pack reads, as {@link pack} takes it. */
export interface SourceToMeasure {
  root: string;
  /** The pack's own ignore rules; the root's `.pteroignore` applies too, as in a pack. */
  ignore?: string | readonly string[];
  signal?: AbortSignal;
}

/**
 * Measures the folder a pack reads (ignore rules applied, symlinks not followed) with a walk run beside
 * the pack, as restic's scanner does, so that a progress display gets its total early in a large pack
 * without delaying it. Progress is informational: a walk that fails leaves the total unknown, and never
 * fails the pack. Call `stop` once the pack ends.
 */
export function measureSourceBeside(source: SourceToMeasure): SourceTotal {
  const walk = new AbortController();
  const signal = source.signal ? AbortSignal.any([source.signal, walk.signal]) : walk.signal;
  let total: { totalBytes?: number } = {};
  resolvePackInput(source.root, { ignore: source.ignore ?? [] }, [])
    .then((input) => measureTree(input.root, input.ignoreRules, signal))
    .then(
      (size) => {
        total = { totalBytes: size.bytes };
      },
      () => {},
    );
  return { current: () => total, stop: () => walk.abort() };
}

/**
 * A backup's progress total: the space check's measure when it made one; otherwise, when someone listens
 * for progress, {@link measureSourceBeside}.
 */
export function backupSourceTotal(
  source: SourceToMeasure,
  measured: TreeSize | undefined,
  listening: boolean,
): SourceTotal {
  if (measured) return { current: () => ({ totalBytes: measured.bytes }), stop() {} };
  if (!listening) return { current: () => ({}), stop() {} };
  return measureSourceBeside(source);
}
