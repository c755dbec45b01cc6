import { availableParallelism, hostname } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { abortError, StrongboxError, throwIfAborted } from "../errors.js";
import { withKeyValidation } from "../storage/with-key-validation.js";
import { createActivityEmitter } from "./activity.js";
import type { BackupManager, BackupManagerOptions } from "./api.js";
import { createBackgroundVerifier } from "./background-verify.js";
import { createManifestCatalog } from "./catalog.js";
import { activityEvent, enforce, type ManagerContext } from "./context.js";
import { drillBackup } from "./drill.js";
import { checkHooks } from "./hooks.js";
import { pageOptions } from "./inputs.js";
import { archiveKey, validateBackupId, validateServerId } from "./keys.js";
import { backupNotFound, notSuccessful, stillRunning } from "./manager-errors.js";
import { createSharedLimiters } from "./rate-limits.js";
import { createRecordOrder } from "./record-order.js";
import { backupStatus } from "./records.js";
import { recoverAll, recoverIfAbandoned } from "./recover.js";
import { removeBackup } from "./remove.js";
import { downloadSource } from "./replica-fallback.js";
import { createReplicator } from "./replicator.js";
import { forgetBackups } from "./retention.js";
import { checkMaxConcurrent, createRunQueue } from "./run-queue.js";
import { createServerRecords } from "./server-records.js";
import { createServerSlots } from "./slots.js";
import { startBackup } from "./start-backup.js";
import { startRestore } from "./start-restore.js";
import type { BackupRecord } from "./types.js";
import { verifyBackup } from "./verify.js";

const DEFAULT_HEARTBEAT_MS = 10_000;
const DEFAULT_STALE_AFTER_MS = 60_000;
// How often `wait` looks again at a backup that another process runs.
const MAX_POLL_MS = 1_000;

/**
 * Creates a {@link BackupManager}: records in `catalog` (default: manifests beside the archives), archives
 * in `storage`, every action checked by `policy`, every step reported to `onActivity`.
 *
 * @example
 * ```ts
 * const manager = createBackupManager({ storage, policy, serverRoot: (id) => `/srv/servers/${id}` });
 * await manager.recover();
 * const record = await manager.create("a1b2c3d4", { name: "Pre-update" });
 * const done = await manager.wait("a1b2c3d4", record.uuid);
 * ```
 */
export function createBackupManager(options: BackupManagerOptions): BackupManager {
  const storage = withKeyValidation(options.storage);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const now = options.now ?? (() => new Date());
  const host = options.host ?? hostname();
  const slots = createServerSlots();
  const context: ManagerContext = {
    storage,
    catalog: options.catalog ?? createManifestCatalog(storage),
    serverRoot: options.serverRoot,
    serverState: options.serverState,
    policy: options.policy ?? {},
    emit: createActivityEmitter(options.onActivity, options.onListenerError),
    onProgress: options.onProgress,
    onWarning: options.onWarning ?? (() => {}),
    level: options.level,
    heartbeatMs,
    staleAfterMs,
    now,
    host,
    limiters: createSharedLimiters(options.rateLimits),
    hooks: options.hooks ?? {},
    hookTimeoutMs: checkHooks(options.hooks ?? {}),
    workers: options.workers,
    order: createRecordOrder(storage, { host, now, heartbeatMs, staleAfterMs }),
    queue: createRunQueue(checkMaxConcurrent(options.maxConcurrent ?? availableParallelism())),
    inUse: (record) => slots.find(record.server, record.uuid) !== undefined,
    backupEnded: (record) => {
      if (options.verifyNewBackups) background.verifyNew(record);
    },
  };
  if (options.replica) context.replica = createReplicator(context, options.replica, options.storage);
  const background = createBackgroundVerifier(context);
  const { catalog, policy, order } = context;
  const records = createServerRecords(context, slots);
  const ids = (server: string, uuid: string) => [validateServerId(server), validateBackupId(uuid)] as const;

  const manager: BackupManager = {
    create: async (server, input = {}) =>
      startBackup(context, slots, records, validateServerId(server), input),

    async get(server, uuid) {
      const [id, backup] = ids(server, uuid);
      const record = await catalog.get(id, backup);
      if (!record) throw backupNotFound(id, backup);
      return record;
    },

    async list(server, input = {}) {
      const id = validateServerId(server);
      const { page, perPage } = pageOptions(input);
      const backups = await records.all(id);
      const data = backups.slice((page - 1) * perPage, page * perPage);
      const total = backups.length;
      return {
        data,
        pagination: {
          total,
          count: data.length,
          per_page: perPage,
          current_page: page,
          total_pages: Math.max(1, Math.ceil(total / perPage)),
        },
        backup_count: total,
      };
    },

    async downloadUrl(server, uuid, input = {}) {
      const { record, backups } = await records.find(...ids(server, uuid));
      if (backupStatus(record) !== "successful") throw notSuccessful(record, "downloaded");
      const { actor } = input;
      enforce(policy.download?.({ server: record.server, actor, now: now(), backups, backup: record }));
      const { storage: from, ...source } = await downloadSource(context, record);
      if (!from.downloadUrl) {
        throw new StrongboxError(
          "STORAGE_ERROR",
          `The ${from.name} storage cannot hand out download links; fetch the archive through the storage itself.`,
          { details: { disk: from.name } },
        );
      }
      const url = await from.downloadUrl(archiveKey(record.server, record.uuid), {
        ...(input.expiresIn === undefined ? {} : { expiresIn: input.expiresIn }),
        filename: downloadName(record),
      });
      const properties = { name: record.name, ...source };
      context.emit(activityEvent(context, "server:backup.download", record, actor, properties));
      return url;
    },

    async restore(server, uuid, input) {
      const { done } = await manager.startRestore(server, uuid, input);
      await done;
    },

    startRestore: async (server, uuid, input) =>
      startRestore(context, slots, records, ...ids(server, uuid), input),

    async setLocked(server, uuid, locked, input = {}) {
      if (typeof locked !== "boolean") {
        throw new StrongboxError(
          "INVALID_INPUT",
          "Say whether to lock the backup (true) or unlock it (false).",
        );
      }
      const [id, backup] = ids(server, uuid);
      const { actor } = input;
      const updated = await order.run(id, async () => {
        const { record, backups } = await records.find(id, backup);
        enforce(policy.setLocked?.({ server: id, actor, now: now(), backups, backup: record, locked }));
        return writeLock(record, locked);
      });
      const event = locked ? "server:backup.lock" : "server:backup.unlock";
      context.emit(activityEvent(context, event, updated, actor, { name: updated.name }));
      return updated;
    },

    async delete(server, uuid, input = {}) {
      const [id, backup] = ids(server, uuid);
      // Its record says completed while its wrap-up (retention, the after-hook) still runs: wait for it.
      const slot = slots.find(id, backup);
      if (slot?.finishing) await slot.released;
      const { actor } = input;
      await order.run(id, async () => {
        const { record, backups } = await records.find(id, backup);
        if (slots.runs(record) || records.isLiveElsewhere(record)) {
          throw stillRunning(
            record,
            "This backup is still running; cancel it or wait for it to finish before deleting it.",
          );
        }
        enforce(policy.delete?.({ server: id, actor, now: now(), backups, backup: record }));
        await removeBackup(context, record, actor);
      });
    },

    async wait(server, uuid, input = {}) {
      const [id, backup] = ids(server, uuid);
      const { signal } = input;
      for (;;) {
        throwIfAborted(signal, "Waiting for the backup");
        const slot = slots.find(id, backup);
        if (slot?.operation === "backup" && slot.result) {
          return { ...(await untilAborted(slot.result, signal)) };
        }
        const record = await manager.get(id, backup);
        if (record.completed_at !== null) return record;
        const latest = await recoverIfAbandoned(context, record, slots.runs);
        if (!latest) throw backupNotFound(id, backup);
        if (latest.completed_at !== null) return latest;
        const pause = Math.min(context.heartbeatMs, MAX_POLL_MS);
        await delay(pause, undefined, signal ? { signal } : {}).catch(() => {});
      }
    },

    async cancel(server, uuid) {
      const [id, backup] = ids(server, uuid);
      const slot = slots.find(id, backup);
      if (slot) {
        slot.controller.abort();
        await slot.released;
        return manager.get(id, backup);
      }
      const record = await manager.get(id, backup);
      if (records.isLiveElsewhere(record)) {
        throw stillRunning(record, "This backup runs in another process; cancel it there.");
      }
      const latest = await recoverIfAbandoned(context, record, slots.runs);
      if (!latest) throw backupNotFound(id, backup);
      return latest;
    },

    forget: (server, input = {}) => forgetBackups(context, validateServerId(server), input),

    async recover() {
      const recovered = await recoverAll(context, slots.runs);
      await context.replica?.resume();
      return recovered;
    },

    isBusy: (server) => slots.get(server) !== undefined,

    activeOperation(server) {
      const slot = slots.get(server);
      if (!slot) return undefined;
      return slot.operation === "restore"
        ? { operation: "restore", backup: slot.backup, serverState: "restoring_backup" }
        : { operation: "backup", backup: slot.backup };
    },

    setRateLimits: (limits) => context.limiters.set(limits),

    rateLimits: () => context.limiters.current(),

    async verify(server, uuid, input = {}) {
      const record = await manager.get(server, uuid);
      if (backupStatus(record) !== "successful") throw notSuccessful(record, "verified");
      return verifyBackup(context, record, input.actor, input.signal);
    },

    verifySample: (input) => background.sample(input),

    async drill(server, uuid, input = {}) {
      const record = await manager.get(server, uuid);
      if (backupStatus(record) !== "successful") throw notSuccessful(record, "drilled");
      return drillBackup(context, record, input);
    },

    async close() {
      await Promise.all([slots.closeAll(), background.close()]);
      await context.replica?.close();
    },
  };

  /**
   * Changes the lock of a finished backup (read in the server's record order), or of one running or
   * queued here (through its keeper, so its final record keeps it).
   */
  async function writeLock(record: BackupRecord, locked: boolean): Promise<BackupRecord> {
    const keeper = slots.find(record.server, record.uuid)?.keeper;
    if (keeper) {
      await keeper.update({ is_locked: locked });
      return { ...keeper.current() };
    }
    if (record.completed_at === null) {
      throw stillRunning(
        record,
        "This backup is running in another process; lock or unlock it once it has finished.",
      );
    }
    const updated = { ...record, is_locked: locked };
    await catalog.put(updated);
    return updated;
  }

  return manager;
}

/** A file name for the browser: the backup's name reduced to safe characters, or its uuid. */
function downloadName(record: BackupRecord): string {
  const safe = record.name.replace(/[^A-Za-z0-9._ -]+/g, "_").trim();
  return `${safe || record.uuid}.tar.gz`;
}

/** `promise`, or `ABORTED` as soon as `signal` fires. */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal, "Waiting for the backup"));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
