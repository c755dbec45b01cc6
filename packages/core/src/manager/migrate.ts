import PQueue from "p-queue";
import { abortError, StrongboxError, throwIfAborted } from "../errors.js";
import type { StorageAdapter } from "../storage/types.js";
import { withKeyValidation } from "../storage/with-key-validation.js";
import type { BackupCatalog } from "./catalog.js";
import { createBackupCopier } from "./copy-backup.js";
import { validateServerId } from "./keys.js";
import { createProgressReporter, type OperationProgress } from "./progress.js";
import { archiveDirection, checkRateLimit, limitersFor, type RateLimit } from "./rate-limits.js";
import { backupStatus } from "./records.js";
import type { BackupRecord } from "./types.js";

/** Options of {@link migrateBackups}. */
export interface MigrateOptions {
  /** The storage to copy from; its manifests say what there is. */
  from: StorageAdapter;
  /** The storage to copy to. */
  to: StorageAdapter;
  /** Copy only this server's backups (default: every server found in `from`). */
  server?: string;
  /** Backups copied at the same time (default 4). */
  concurrency?: number;
  /** Stops the migration; backups already copied stay, and a new run goes on from there. */
  signal?: AbortSignal;
  /** Bytes copied of each backup, at most 4 reports a second per backup, plus a final one. */
  onProgress?: (progress: OperationProgress) => void;
  /** Told once, before any copy, how many backups there are and their bytes: the run's total. */
  onPlanned?: (plan: MigrationPlan) => void;
  /** Told once per backup what became of it. */
  onBackup?: (result: MigratedBackup) => void;
  /**
   * Limit on the bytes put into `to`, shared by every copy of this migration: a number, or per direction
   * (`write` when `to` reports `freeSpace`, i.e. it is a local disk; `upload` otherwise).
   */
  rateLimit?: RateLimit;
}

/** What a migration will go through, once every server's backups are listed. */
export interface MigrationPlan {
  /** Backups found, each of which {@link MigrateOptions.onBackup} will report. */
  backups: number;
  /** Their archives' bytes, as their records say (0 for failed backups and those in progress). */
  bytes: number;
}

/** What became of one backup in a migration. */
export interface MigratedBackup {
  server: string;
  uuid: string;
  /** The archive's size, as its record says (what a copy moves; 0 for a failed backup). */
  bytes: number;
  status: "copied" | "skipped" | "failed";
  /** Why it was skipped: still in progress, a failed backup, or already present in `to`. */
  reason?: "in_progress" | "failed_backup" | "already_present";
  /** Why it could not be copied. */
  error?: string;
}

/** The summary of a migration. */
export interface MigrateSummary {
  copied: number;
  skipped: number;
  failed: { server: string; uuid: string; error: string }[];
}

const DEFAULT_CONCURRENCY = 4;

/**
 * Copies every successful backup (archive, then manifest) from one storage to another, streaming, a few
 * at a time. Each archive's sha256 is computed as it arrives and compared with its record; on a mismatch
 * the copy is deleted and the backup reported failed. The manifest is written last, so it only ever exists
 * in `to` for an archive that verified.
 *
 * A backup counts as already present (and is skipped) when `to` holds its successful manifest with the
 * same checksum and an archive of the recorded size: the manifest vouches that the archive verified on
 * arrival, so nothing is re-read. A second run therefore copies nothing, and a run stopped half-way goes
 * on where it stopped. Backups in progress or failed are skipped.
 *
 * @throws StrongboxError `ABORTED` when `signal` fires (what was copied stays); `INVALID_INPUT` for a bad
 * server id or concurrency. Failures of single backups do not throw: they are listed in `failed`.
 */
export async function migrateBackups(options: MigrateOptions): Promise<MigrateSummary> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "The migration concurrency must be a whole number of 1 or more.",
      {
        details: { concurrency },
      },
    );
  }
  checkRateLimit(options.rateLimit);
  const server = options.server === undefined ? undefined : validateServerId(options.server);
  const { signal } = options;
  throwIfAborted(signal, "The migration");
  const copier = createCopier(options);
  const servers = server ? [server] : await copier.source.servers();
  const summary: MigrateSummary = { copied: 0, skipped: 0, failed: [] };
  const queue = new PQueue({ concurrency });
  // Every server is listed before the first copy, so that the plan gives the run's total.
  const records: BackupRecord[] = [];
  for (const id of servers) records.push(...(await copier.source.list(id)));
  options.onPlanned?.({ backups: records.length, bytes: records.reduce((sum, { bytes }) => sum + bytes, 0) });
  const tasks = records.map((record) =>
    queue.add(
      async () => {
        const result = await copier.migrate(record);
        if (result.status === "copied") summary.copied++;
        else if (result.status === "skipped") summary.skipped++;
        else summary.failed.push({ server: result.server, uuid: result.uuid, error: result.error ?? "" });
        options.onBackup?.(result);
      },
      signal ? { signal } : {},
    ),
  );
  await Promise.allSettled(tasks);
  throwIfAborted(signal, "The migration");
  return summary;
}

interface Copier {
  source: BackupCatalog;
  /** Copies one backup; rejects only when the migration was aborted. */
  migrate(record: BackupRecord): Promise<MigratedBackup>;
}

function createCopier(options: MigrateOptions): Copier {
  const { signal } = options;
  // Created once, so every copy of this migration shares the one budget.
  const to = withKeyValidation(options.to);
  const putLimiters = limitersFor(archiveDirection(to), undefined, options.rateLimit);
  const copier = createBackupCopier(withKeyValidation(options.from), to, putLimiters);

  return {
    source: copier.source,
    async migrate(record) {
      const names = { server: record.server, uuid: record.uuid, bytes: record.bytes };
      const status = backupStatus(record);
      if (status === "in_progress") return { ...names, status: "skipped", reason: "in_progress" };
      if (status === "failed") return { ...names, status: "skipped", reason: "failed_backup" };
      try {
        if (await copier.isPresent(record)) return { ...names, status: "skipped", reason: "already_present" };
        const progress = createProgressReporter(options.onProgress, {
          server: record.server,
          backup: record.uuid,
          operation: "migrate",
        });
        await copier.copy(record, { progress, ...(signal ? { signal } : {}) });
        return { ...names, status: "copied" };
      } catch (error) {
        if (signal?.aborted) throw abortError(signal, "The migration");
        return { ...names, status: "failed", error: (error as Error).message };
      }
    },
  };
}
