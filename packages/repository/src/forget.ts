import { StrongboxError, throwIfAborted } from "@strongbox/core/parts";
import { lockRepository } from "./locks.js";
import type { Repository } from "./repository.js";
import { deleteSnapshotObject, snapshotExists, validateSnapshotId } from "./snapshots.js";

/** Options of {@link forgetSnapshots}. */
export interface ForgetSnapshotsOptions {
  /** How long to wait for the other locks (backups' shared ones, a prune's) to go (default 0: fail at once). */
  lockWaitMs?: number;
  /** Stops the wait for the lock, or the call before it deletes anything: `ABORTED`. */
  signal?: AbortSignal;
}

/**
 * Forgets snapshots: deletes their snapshot objects under the repository's **exclusive** lock (restic's
 * rule: forget and prune run alone, backups take shared locks). Their data stays in the packs until
 * {@link prune} removes what no remaining snapshot uses, so a forget is quick; a forgotten snapshot cannot
 * be brought back (its object, which names its tree, is gone).
 *
 * Every id is checked before anything is deleted: one that is not a snapshot id is `INVALID_INPUT`, one the
 * repository does not hold is `NOT_FOUND`, and either leaves every snapshot in place. An id given twice is
 * forgotten once; an empty list does nothing (and takes no lock).
 *
 * @throws StrongboxError `INVALID_INPUT` / `NOT_FOUND` as above (nothing deleted); `SERVER_STATE_CONFLICT`
 *   while a backup or prune holds a lock (after `lockWaitMs`), or when the lock is lost before the deletes;
 *   `ABORTED` when the signal fires before the deletes.
 */
export async function forgetSnapshots(
  repo: Repository,
  ids: readonly string[],
  options: ForgetSnapshotsOptions = {},
): Promise<void> {
  const wanted = [...new Set(ids.map(validateSnapshotId))];
  if (wanted.length === 0) return;
  const { signal } = options;
  const lock = await lockRepository(repo, {
    kind: "exclusive",
    purpose: wanted.length === 1 ? `forget snapshot ${wanted[0]}` : `forget ${wanted.length} snapshots`,
    waitMs: options.lockWaitMs ?? 0,
    ...(signal ? { signal } : {}),
  });
  try {
    const missing: string[] = [];
    for (const id of wanted) if (!(await snapshotExists(repo, id))) missing.push(id);
    if (missing.length > 0) {
      throw new StrongboxError(
        "NOT_FOUND",
        `There is no snapshot ${missing.join(", ")} in this repository; no snapshot was forgotten.`,
        { details: { ids: missing } },
      );
    }
    throwIfAborted(signal, "Forgetting snapshots");
    for (const id of wanted) {
      lock.assertHeld();
      await deleteSnapshotObject(repo, id);
    }
  } finally {
    await lock.release();
  }
}
