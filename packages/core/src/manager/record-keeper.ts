import type { BackupCatalog } from "./catalog.js";
import { finished, formatTimestamp } from "./records.js";
import type { BackupRecord } from "./types.js";

/** Keeps one in-progress record written and refreshed while its backup runs. */
export interface RecordKeeper {
  /** The record as last changed. */
  current(): BackupRecord;
  /** Changes the record and writes it, after any write already under way. */
  update(changes: Partial<BackupRecord>): Promise<void>;
  /**
   * Stops the refreshes and writes the finished record (the latest one with `changes`, its owner dropped)
   * last, so nothing overwrites it; a lock set meanwhile is kept. Resolves with the finished record once
   * written; {@link RecordKeeper.current} returns it at once.
   */
  finish(changes: Partial<BackupRecord>): Promise<BackupRecord>;
}

/** Options of {@link keepRecord}. */
export interface KeepRecordOptions {
  heartbeatMs: number;
  now: () => Date;
  /** Told when a refresh could not be written (the next one tries again). */
  onRefreshError: (error: unknown) => void;
}

/**
 * Starts refreshing `record.owner.heartbeat_at` every `heartbeatMs`, so other processes sharing the
 * storage can tell this backup is alive. Writes are chained: a refresh still in flight can never land after
 * the finished record and turn it back into an in-progress one.
 */
export function keepRecord(
  catalog: BackupCatalog,
  record: BackupRecord,
  options: KeepRecordOptions,
): RecordKeeper {
  let latest = record;
  let chain: Promise<void> = Promise.resolve();
  let refreshing = false;

  const write = (next: BackupRecord): Promise<void> => {
    latest = next;
    const written = chain.then(() => catalog.put(next));
    chain = written.catch(() => {});
    return written;
  };

  const timer = setInterval(() => {
    if (refreshing || !latest.owner) return;
    refreshing = true;
    const owner = { ...latest.owner, heartbeat_at: formatTimestamp(options.now()) };
    write({ ...latest, owner })
      .catch(options.onRefreshError)
      .finally(() => {
        refreshing = false;
      });
  }, options.heartbeatMs);
  // A running backup keeps the process alive through its streams, not through this timer.
  timer.unref();

  return {
    current: () => latest,
    update: (changes) => write({ ...latest, ...changes }),
    async finish(changes) {
      clearInterval(timer);
      const record = finished(latest, changes);
      await write(record);
      return record;
    },
  };
}
