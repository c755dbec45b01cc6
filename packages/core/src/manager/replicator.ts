import { setTimeout as delay } from "node:timers/promises";
import PQueue from "p-queue";
import { StrongboxError } from "../errors.js";
import type { StorageAdapter } from "../storage/types.js";
import { withKeyValidation } from "../storage/with-key-validation.js";
import type { ReplicaOptions } from "./api.js";
import { activityEvent, type ManagerContext } from "./context.js";
import { createBackupCopier } from "./copy-backup.js";
import { copyState, writeCopyState } from "./copy-state.js";
import { archiveDirection, limitersFor } from "./rate-limits.js";
import { createRecordOrder } from "./record-order.js";
import { backupStatus } from "./records.js";
import { applyReplicaRetention, type ReplicaStore } from "./replica-retention.js";
import type { BackupCopy, BackupRecord } from "./types.js";

const DEFAULT_ATTEMPTS = 5;
const FIRST_BACKOFF_MS = 2_000;
const MAX_BACKOFF_MS = 5 * 60_000;

/** Copies successful backups to the replica in the background, one queue per manager. */
export interface Replicator {
  /** The replica storage, keys validated. */
  storage: StorageAdapter;
  /** The copy state a backup's finished record starts with. */
  pending(): BackupCopy;
  /** Queues a copy of a backup; one already queued or being copied is not queued twice. Never rejects. */
  enqueue(server: string, uuid: string): void;
  /** Queues every copy whose record says `pending` or `failed`; resolves with how many. */
  resume(): Promise<number>;
  /** Stops: queued copies are dropped and running ones aborted; their records stay `pending`. */
  close(): Promise<void>;
}

/**
 * Checks the replica options and creates the replicator of a manager; `primary` is the manager's storage
 * as the embedder gave it (before key validation wrapped it).
 */
export function createReplicator(
  context: ManagerContext,
  options: ReplicaOptions,
  primary: StorageAdapter,
): Replicator {
  checkReplicaStorage(options.storage, primary);
  if (options.backoff !== undefined && typeof options.backoff !== "function") {
    throw new StrongboxError("INVALID_INPUT", "The replica's backoff must be a function (attempt, signal).");
  }
  const attempts = wholeNumber(options.attempts ?? DEFAULT_ATTEMPTS, "attempts");
  const concurrency = wholeNumber(options.concurrency ?? 1, "concurrency");
  const backoff = options.backoff ?? defaultBackoff;
  const storage = withKeyValidation(options.storage);
  const disk = storage.name;
  // Bytes put into the replica count against the node's budget, as those of backups and restores do.
  const putLimiters = limitersFor(archiveDirection(storage), context.limiters, undefined);
  const copier = createBackupCopier(context.storage, storage, putLimiters);
  const { retention } = options;
  const store: ReplicaStore | undefined = retention && {
    storage,
    catalog: copier.target,
    order: createRecordOrder(storage, context),
    retention,
  };
  const queue = new PQueue({ concurrency });
  // `server/uuid` of what is queued or running: a queue entry is a record's names, nothing more.
  const queued = new Set<string>();
  const controller = new AbortController();
  const { signal } = controller;

  const warn = (record: BackupRecord, code: "REPLICA_FAILED" | "RETENTION_FAILED", message: string) =>
    context.onWarning({ server: record.server, backup: record.uuid, code, message });

  /**
   * Copies with retries; resolves with the number of attempts, and the last one's error unless copied.
   * `gone` when the backup was deleted from the primary while waiting to try again: nothing left to copy.
   */
  async function copyWithRetries(
    record: BackupRecord,
  ): Promise<{ error?: string; attempt: number; gone?: boolean }> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!(await copier.isPresent(record))) {
          await copier.copy(record, { signal, manifest: replicaManifest(record, disk) });
        }
        return { attempt };
      } catch (error) {
        const message = (error as Error).message;
        if (signal.aborted || attempt >= attempts) return { error: message, attempt };
        await backoff(attempt, signal);
        if (signal.aborted) return { error: message, attempt };
        if (!(await context.catalog.get(record.server, record.uuid))) return { attempt, gone: true };
      }
    }
  }

  async function replicate(server: string, uuid: string): Promise<void> {
    const record = await context.catalog.get(server, uuid);
    if (!record || backupStatus(record) !== "successful") return;
    const { error, attempt, gone } = await copyWithRetries(record);
    // Closed meanwhile: the record stays pending, and the next start tries again.
    if (signal.aborted || gone) return;
    const copy = copyState(context, disk, error === undefined ? "copied" : "failed", error);
    const updated = await writeCopyState(context, server, uuid, copy).catch((caught: unknown) => {
      warn(record, "REPLICA_FAILED", `The copy's state could not be recorded: ${(caught as Error).message}`);
      return undefined;
    });
    const shown = updated ?? record;
    if (error !== undefined) {
      const properties = { name: shown.name, disk, error, attempts: attempt };
      context.emit(activityEvent(context, "server:backup.replicate-fail", shown, undefined, properties));
      return;
    }
    // Trimmed first, so that whoever hears the event finds the replica as its retention leaves it.
    if (store) await trimReplica(store, record);
    context.emit(
      activityEvent(context, "server:backup.replicate", shown, undefined, { name: shown.name, disk }),
    );
  }

  async function trimReplica(replica: ReplicaStore, record: BackupRecord): Promise<void> {
    try {
      const removed = await applyReplicaRetention(context, replica, record.server);
      for (const uuid of removed) {
        await writeCopyState(context, record.server, uuid, copyState(context, disk, "removed"));
      }
    } catch (error) {
      warn(
        record,
        "RETENTION_FAILED",
        `Old copies could not be removed from the replica: ${(error as Error).message}`,
      );
    }
  }

  const replicator: Replicator = {
    storage,
    pending: () => copyState(context, disk, "pending"),
    enqueue(server, uuid) {
      const key = `${server}/${uuid}`;
      if (signal.aborted || queued.has(key)) return;
      queued.add(key);
      void queue.add(async () => {
        try {
          await replicate(server, uuid);
        } catch (error) {
          // Reading the record failed: the copy stays pending for the next start.
          context.onWarning({
            server,
            backup: uuid,
            code: "REPLICA_FAILED",
            message: `The backup could not be copied to the replica: ${(error as Error).message}`,
          });
        } finally {
          queued.delete(key);
        }
      });
    },
    async resume() {
      let count = 0;
      for (const server of await context.catalog.servers()) {
        for (const record of await context.catalog.list(server)) {
          const state = record.copies?.find((copy) => copy.disk === disk)?.state;
          if (state !== "pending" && state !== "failed") continue;
          replicator.enqueue(server, record.uuid);
          count++;
        }
      }
      return count;
    },
    async close() {
      controller.abort();
      queue.clear();
      await queue.onIdle();
    },
  };
  return replicator;
}

/** The manifest a replica holds: the record as it is on the primary, without the primary's copy list. */
function replicaManifest(record: BackupRecord, disk: string): BackupRecord {
  const { copies: _copies, ...rest } = record;
  return { ...rest, disk };
}

async function defaultBackoff(attempt: number, signal: AbortSignal): Promise<void> {
  const ms = Math.min(FIRST_BACKOFF_MS * 4 ** (attempt - 1), MAX_BACKOFF_MS);
  await delay(ms, undefined, { signal }).catch(() => {});
}

/** A replica must be a storage adapter, and another one than the primary (copies onto itself protect nothing). */
function checkReplicaStorage(replica: StorageAdapter | undefined, primary: StorageAdapter): void {
  const adapter = replica as Partial<StorageAdapter> | undefined;
  if (typeof adapter?.put !== "function" || typeof adapter.get !== "function") {
    throw new StrongboxError("INVALID_INPUT", "The replica needs a storage adapter: `replica: { storage }`.");
  }
  if (adapter === primary) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "The replica is the primary storage itself; give it a second storage, ideally on another machine.",
    );
  }
}

function wholeNumber(value: number, name: string): number {
  if (Number.isInteger(value) && value >= 1) return value;
  throw new StrongboxError("INVALID_INPUT", `The replica's ${name} must be a whole number of 1 or more.`, {
    details: { [name]: value },
  });
}
