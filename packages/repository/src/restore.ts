import { type ExtractCounts, extract, type RestoreMode } from "@strongbox/core/parts";
import { snapshotTar } from "./export.js";
import { loadIndex } from "./index-store.js";
import type { Repository } from "./repository.js";
import { readSnapshot } from "./snapshots.js";

/** Options of {@link restoreSnapshot}. */
export interface RestoreSnapshotOptions {
  /** `merge` (default): the snapshot's files overwrite, others stay; `truncate`: the target ends up holding exactly the snapshot. */
  mode?: RestoreMode;
  /** Only these paths: only their chunks are read. */
  only?: readonly string[];
  signal?: AbortSignal;
  /** Sees the stored bytes of every read of chunk data. */
  onRead?: (bytes: number) => void;
}

/**
 * Restores a snapshot into `target` through core's `extract`: everything is staged inside the target and
 * swapped in only once the whole snapshot was read and checked, so a missing or damaged chunk fails the
 * restore with the target as it was. Never writes outside the target (core's checks).
 */
export async function restoreSnapshot(
  repo: Repository,
  id: string,
  target: string,
  options: RestoreSnapshotOptions = {},
): Promise<ExtractCounts> {
  const snapshot = await readSnapshot(repo, id);
  const { index } = await loadIndex(repo);
  const tar = snapshotTar(repo, index, snapshot, options);
  let failure: unknown;
  tar.once("error", (error) => {
    failure = error;
  });
  try {
    // A plain tar: no gzip layer to make here and undo in extract's worker (it only carried the stream);
    // not hashed either: every chunk in it was checked against its id.
    return await extract(tar, target, {
      mode: options.mode ?? "merge",
      compression: "none",
      checksum: false,
      ...(options.only ? { only: options.only } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    // The snapshot's own error (a damaged chunk) says more than the stream it cut short.
    throw failure ?? error;
  }
}
