import type { ManagerContext } from "./context.js";
import { formatTimestamp } from "./records.js";
import type { BackupCopy, BackupRecord } from "./types.js";

/** A copy's new state, stamped now; `error` only where given. */
export function copyState(
  context: ManagerContext,
  disk: string,
  state: BackupCopy["state"],
  error?: string,
): BackupCopy {
  return { disk, state, at: formatTimestamp(context.now()), ...(error === undefined ? {} : { error }) };
}

/** `record`'s copies with `copy` in place of the one on the same disk (added when there was none). */
export function withCopy(record: BackupRecord, copy: BackupCopy): BackupCopy[] {
  const others = (record.copies ?? []).filter((existing) => existing.disk !== copy.disk);
  return [...others, copy];
}

/**
 * Writes a copy's state into the backup's record, in the server's record order on a fresh read, so a
 * lock, delete or rotation running meanwhile is neither undone nor raced. Resolves with the updated record,
 * or `undefined` when the backup is gone from the primary (its copy then lives on in the replica alone).
 */
export async function writeCopyState(
  context: ManagerContext,
  server: string,
  uuid: string,
  copy: BackupCopy,
): Promise<BackupRecord | undefined> {
  return context.order.run(server, async () => {
    const latest = await context.catalog.get(server, uuid);
    if (!latest) return undefined;
    const updated = { ...latest, copies: withCopy(latest, copy) };
    await context.catalog.put(updated);
    return updated;
  });
}
