import { resolvePackInput } from "../archive/pack-input.js";
import { measureTree, type TreeSize } from "../io/source-size.js";

/** The total a backup's progress reports, once it is known. */
export interface SourceTotal {
  /** `{totalBytes}` once known, else `{}`: spread into each progress report. */
  current(): { totalBytes?: number };
  /** Stops a walk still running (the backup ended first). */
  stop(): void;
}

/**
 * The source's size for a backup's progress: the space check's measure when it made one; otherwise, when
 * someone listens for progress, a walk of the source (ignore rules applied, as pack reads it) run beside
 * the pack, as restic's scanner does, so the total arrives early in a large backup without delaying
 * it. Progress is informational: a walk that fails leaves the progress without a total, never the backup
 * failed.
 */
export function sourceTotal(
  source: { root: string; ignore: string | readonly string[]; signal: AbortSignal },
  measured: TreeSize | undefined,
  listening: boolean,
): SourceTotal {
  if (measured) return { current: () => ({ totalBytes: measured.bytes }), stop() {} };
  if (!listening) return { current: () => ({}), stop() {} };
  const walk = new AbortController();
  const signal = AbortSignal.any([source.signal, walk.signal]);
  let total: { totalBytes?: number } = {};
  resolvePackInput(source.root, { ignore: source.ignore }, [])
    .then((input) => measureTree(input.root, input.ignoreRules, signal))
    .then(
      (size) => {
        total = { totalBytes: size.bytes };
      },
      () => {},
    );
  return { current: () => total, stop: () => walk.abort() };
}
