import type { StorageAdapter } from "../storage/types.js";
import type { BackupCatalog } from "./catalog.js";
import type { ManagerContext } from "./context.js";
import { archiveKey } from "./keys.js";
import type { RecordOrder } from "./record-order.js";
import { sortNewestFirst } from "./records.js";
import type { BackupPolicy, BackupRecord } from "./types.js";

/** The replica as its retention sees it. */
export interface ReplicaStore {
  storage: StorageAdapter;
  catalog: BackupCatalog;
  /** The record order of the replica storage: its changes one at a time across processes. */
  order: RecordOrder;
  retention: NonNullable<BackupPolicy["retention"]>;
}

/**
 * Removes from the replica the backups its own retention names, over the replica's own records, in the
 * replica's record order: archive first, then manifest. A backup locked in the primary shows as locked
 * (it may have been locked after it was copied), and no locked or unfinished backup is ever removed.
 * Backups deleted from the primary stay until this removes them. Resolves with the uuids removed.
 */
export async function applyReplicaRetention(
  context: ManagerContext,
  replica: ReplicaStore,
  server: string,
): Promise<string[]> {
  return replica.order.run(server, async () => {
    const primary = new Map((await context.catalog.list(server)).map((record) => [record.uuid, record]));
    const backups = sortNewestFirst(await replica.catalog.list(server)).map((record) =>
      lockedAsPrimary(record, primary.get(record.uuid)),
    );
    const doomed = new Set(replica.retention({ server, now: context.now(), backups }));
    const removed: string[] = [];
    for (const record of backups) {
      if (!doomed.has(record.uuid) || record.is_locked || record.completed_at === null) continue;
      await replica.storage.delete(archiveKey(server, record.uuid));
      await replica.catalog.delete(server, record.uuid);
      removed.push(record.uuid);
    }
    return removed;
  });
}

function lockedAsPrimary(copy: BackupRecord, primary: BackupRecord | undefined): BackupRecord {
  return primary?.is_locked && !copy.is_locked ? { ...copy, is_locked: true } : copy;
}
