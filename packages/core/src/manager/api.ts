import type { ArchiveWorkers } from "../archive/archive-workers.js";
import type { ArchiveWarningCode } from "../archive/types.js";
import type { StorageAdapter } from "../storage/types.js";
import type { ActivityListener, ListenerErrorHandler } from "./activity.js";
import type { VerifySampleOptions } from "./background-verify.js";
import type { BackupCatalog } from "./catalog.js";
import type { DrillOptions, DrillReport } from "./drill.js";
import type { OperationHooks } from "./hooks.js";
import type { OperationProgress } from "./progress.js";
import type { RateLimit, RateLimits } from "./rate-limits.js";
import type { Actor, BackupPolicy, BackupRecord, PolicyInput, ServerState } from "./types.js";

/**
 * A second storage that holds a copy of every successful backup (archive and manifest, as `migrate` writes
 * them), so it is a store of its own that a manager or `strongbox list/restore --storage` can read. Copies
 * run in the background after a backup completed, one queue for the manager, never holding the server.
 */
export interface ReplicaOptions {
  /** Where the copies go. Keys are validated by the manager. */
  storage: StorageAdapter;
  /**
   * The replica's own retention: which of the replica's backups to remove (uuids), asked after each copy
   * with the replica's records (a backup locked on the primary shows as locked). Locked ones are never
   * removed whatever it says. Default: the replica keeps everything. `createPolicy({retention}).retention`
   * of `@strongbox/policy` builds one.
   */
  retention?: BackupPolicy["retention"];
  /** Attempts per copy before its state becomes `failed` (default 5). */
  attempts?: number;
  /**
   * Waits before the next attempt once attempt number `attempt` (from 1) failed; rejects or resolves early
   * when `signal` aborts (the manager closes). Default: 2 s, then four times longer each time, at most 5 min.
   */
  backoff?: (attempt: number, signal: AbortSignal) => Promise<void>;
  /** Copies running at once (default 1). */
  concurrency?: number;
}

/** A non-fatal problem during an operation: a path skipped or changed while packed, a refresh that failed. */
export interface BackupWarning {
  server: string;
  /** The backup's uuid. */
  backup: string;
  /**
   * An archive warning code, `HEARTBEAT_FAILED` (the record could not be refreshed), `RETENTION_FAILED`
   * (on the primary or the replica), `HOOK_FAILED` (an after-hook threw or timed out; the operation's
   * outcome stands), `REPLICA_FAILED` (a copy's state could not be written to its record), or
   * `VERIFICATION_FAILED` (a background verification could not read the storage; nothing was recorded).
   */
  code:
    | ArchiveWarningCode
    | "HEARTBEAT_FAILED"
    | "RETENTION_FAILED"
    | "HOOK_FAILED"
    | "REPLICA_FAILED"
    | "VERIFICATION_FAILED";
  /** The path concerned, for archive warnings. */
  path?: string;
  message: string;
}

/** Options of {@link createBackupManager}. */
export interface BackupManagerOptions {
  /** Where archives (and, by default, their manifests) are stored. Keys are validated by the manager. */
  storage: StorageAdapter;
  /** Where records are kept; default: JSON manifests beside the archives (`createManifestCatalog`). */
  catalog?: BackupCatalog;
  /**
   * A second storage each successful backup is copied to (verified on arrival, retried with backoff), with
   * its own retention; restore and download fall back to it when the primary copy is missing or damaged.
   */
  replica?: ReplicaOptions;
  /** Rules asked before each action; default: everything allowed. */
  policy?: BackupPolicy;
  /** The folder a server's files live in: what a backup reads and a restore writes. */
  serverRoot: (server: string) => string | Promise<string>;
  /** The server's current state, given to `policy.restore`; default `offline`. */
  serverState?: (server: string) => ServerState | Promise<ServerState>;
  /** Activity events. Never awaited: a slow or throwing listener neither blocks nor breaks an operation. */
  onActivity?: ActivityListener;
  /**
   * Told when `onActivity` throws or rejects. Without it the first failure is printed with
   * `console.warn` and later ones are dropped.
   */
  onListenerError?: ListenerErrorHandler;
  /** Running counters, at most 4 a second per operation, plus a final report. */
  onProgress?: (progress: OperationProgress) => void;
  /** Paths skipped or changed while packed, and records that could not be refreshed. */
  onWarning?: (warning: BackupWarning) => void;
  /** gzip level 0-9 (default 1). */
  level?: number;
  /** How often a running backup refreshes its record (default 10 s). */
  heartbeatMs?: number;
  /** A record not refreshed for this long belongs to a process that stopped (default 60 s). */
  staleAfterMs?: number;
  /** The clock for timestamps and staleness (default: the system clock). */
  now?: () => Date;
  /** This host's name in the records' owner (default `os.hostname()`). */
  host?: string;
  /**
   * I/O limits in bytes per second shared by every operation of this manager (a node's whole budget);
   * absent, 0 or `undefined` means unlimited. Change them at run time with {@link BackupManager.setRateLimits}.
   */
  rateLimits?: RateLimits;
  /** Awaited callbacks around every backup and restore (pause a game server, flush its world, ...). */
  hooks?: OperationHooks;
  /** Archive threads all backups and restores share (`createArchiveWorkers`); default: each its own. */
  workers?: ArchiveWorkers;
  /**
   * Most backups and restores running at once, all servers together (default: the number of cores,
   * `os.availableParallelism()`). Further ones wait in order, with their records stored (in progress) and
   * refreshed; a waiting one holds no worker or stream, so memory does not grow with the queue.
   */
  maxConcurrent?: number;
  /**
   * Read every new successful backup back once it is written, as {@link BackupManager.verify} does, in
   * the background (one verification at a time, under the `read` limit). Default `false`: it doubles the
   * reads of every backup, and on S3 the egress; a periodic sample (`createVerificationScheduler`) also
   * reaches new backups, in turn.
   */
  verifyNewBackups?: boolean;
}

/** Options of {@link BackupManager.verify}. */
export interface VerifyBackupOptions {
  actor?: Actor;
  /** Cancels the read; nothing is recorded then. */
  signal?: AbortSignal;
}

/** Options of {@link BackupManager.create}. */
export interface CreateBackupOptions {
  /** Default: `Backup at YYYY-MM-DD HH:MM:SS` (UTC), as the panel names them. At most 191 characters. */
  name?: string;
  /** gitignore-style rules: a newline-separated string or an array of lines. */
  ignored?: string | readonly string[];
  /** Create the backup locked (the policy decides who may). */
  locked?: boolean;
  actor?: Actor;
  /** A scheduled backup may rotate out the oldest one at the limit, when the policy allows. */
  scheduled?: boolean;
  /** Cancels the backup, like {@link BackupManager.cancel}. */
  signal?: AbortSignal;
  /**
   * This backup's own I/O limit, on top of the manager's shared ones: bytes per second for every
   * direction (a number), or per direction. 0 or absent: no limit of its own.
   */
  rateLimit?: RateLimit;
}

/** Options of {@link BackupManager.list}. */
export interface ListBackupsOptions {
  /** 1-based page (default 1). */
  page?: number;
  /** Backups per page: default 20, larger values are lowered to 50 (as the panel does). */
  perPage?: number;
}

/** One page of backups, newest first, with the panel API's pagination meta. */
export interface BackupPage {
  data: BackupRecord[];
  pagination: { total: number; count: number; per_page: number; current_page: number; total_pages: number };
  /** Every backup of the server, whatever its status. */
  backup_count: number;
}

/** Options of {@link BackupManager.restore}. */
export interface RestoreBackupOptions {
  /** `true`: the server folder ends up holding exactly the backup. `false`: backup files overwrite, others stay. */
  truncate: boolean;
  /** Restore only these paths (files, or folders with everything they hold). */
  only?: readonly string[];
  actor?: Actor;
  signal?: AbortSignal;
  /**
   * With `truncate`: keep the folder's files that match the backup's ignore rules (`ignored_files`:
   * logs, caches, ...) instead of deleting them, since the backup never held them. No effect on merge.
   */
  keepIgnored?: boolean;
  /** This restore's own limit on restored bytes per second, on top of the manager's `write` limit. */
  rateLimit?: RateLimit;
}

/** Options of {@link BackupManager.forget}. */
export interface ForgetOptions {
  /**
   * Names the backups to remove (uuids), given the server's records read in its record order; default:
   * the policy's `retention`. `retentionPlan` of `@strongbox/policy` gives one with the reasons.
   */
  retention?: (input: PolicyInput) => readonly string[];
  /** Only say what would be removed; nothing is deleted. */
  dryRun?: boolean;
  /** Who asks: the policy's `delete` is asked for every backup to remove before any goes. */
  actor?: Actor;
  /** Stops between deletes: each backup is either gone or untouched (`ABORTED`). */
  signal?: AbortSignal;
}

/** What {@link BackupManager.forget} removed (or would remove, in a dry run), newest first. */
export interface ForgetResult {
  removed: BackupRecord[];
  /**
   * Backups the retention named that stay whatever it says: `locked`, `in progress`, or `in use` (this
   * manager restores it or wraps it up).
   */
  spared: { backup: BackupRecord; reason: "locked" | "in progress" | "in use" }[];
}

/** What a server is busy with in this manager. */
export interface ActiveOperation {
  operation: "backup" | "restore";
  /** The backup's uuid. */
  backup: string;
  /** `restoring_backup` during a restore (the server must stay stopped); absent during a backup. */
  serverState?: ServerState;
}

/**
 * Creates, lists, restores and deletes the backups of many servers; one backup or restore per server at
 * a time, at most `maxConcurrent` in all, the others queued in order. Changes to a server's records
 * (lock, unlock, delete, rotation, retention, recovery) run one at a time, across processes sharing the
 * storage too. Every method validates the server id and backup uuid before using them.
 */
export interface BackupManager {
  /**
   * Queues a backup and returns its in-progress record as soon as that record is stored; the backup runs
   * in the background once its turn comes: after the server's earlier backups, and when fewer than
   * `maxConcurrent` operations run ({@link BackupManager.wait} for the end). Throws the policy's refusal,
   * `NOT_FOUND` when the server's folder does not exist (checked before a rotation deletes anything), or
   * `SERVER_STATE_CONFLICT` while the server restores a backup or another process backs it up.
   */
  create(server: string, options?: CreateBackupOptions): Promise<BackupRecord>;
  /** One backup; `NOT_FOUND` when the server has no such backup. */
  get(server: string, uuid: string): Promise<BackupRecord>;
  /** A page of the server's backups, newest first. */
  list(server: string, options?: ListBackupsOptions): Promise<BackupPage>;
  /** A download link for a successful backup (the storage must support links). */
  downloadUrl(server: string, uuid: string, options?: { actor?: Actor; expiresIn?: number }): Promise<string>;
  /**
   * Restores a successful backup into the server's folder and resolves once it is done. The archive's
   * checksum is verified before anything in the folder changes.
   */
  restore(server: string, uuid: string, options: RestoreBackupOptions): Promise<void>;
  /**
   * Like {@link BackupManager.restore}, but resolves as soon as the checks passed and the restore is
   * queued (what an HTTP API answers with `204`); `done` settles when it ends. Refused with
   * `SERVER_STATE_CONFLICT` while a backup or restore of the server runs or waits, as the panel does;
   * one only finishing its wrap-up is waited for.
   */
  startRestore(server: string, uuid: string, options: RestoreBackupOptions): Promise<{ done: Promise<void> }>;
  /** Locks (no deletion) or unlocks a backup, as the policy allows; returns the updated record. */
  setLocked(
    server: string,
    uuid: string,
    locked: boolean,
    options?: { actor?: Actor },
  ): Promise<BackupRecord>;
  /**
   * Deletes a backup's archive, then its record. Refused while it runs or waits, or when the policy says
   * no; once its record says completed, waits for its wrap-up instead of refusing.
   */
  delete(server: string, uuid: string, options?: { actor?: Actor }): Promise<void>;
  /**
   * Applies retention now (the policy's, or `options.retention`), as after every backup: in the server's
   * record order, so a lock, delete or rotation racing it is seen. Locked, unfinished and in-use backups
   * are never removed. Throws the policy's refusal for `options.actor` before removing anything.
   */
  forget(server: string, options?: ForgetOptions): Promise<ForgetResult>;
  /**
   * Reads a successful backup's archive back from the storage (streaming, under the manager's `read`
   * limit) and checks its sha256 and size against the record. Records the outcome in the record
   * (`verified_at`, `verification`, and `verification_error` saying what was wrong) and emits
   * `server:backup.verify` or `server:backup.verify-fail`; resolves with the updated record either way. A
   * missing archive counts as failed. Throws `BACKUP_NOT_SUCCESSFUL` for a failed or running backup,
   * `NOT_FOUND` when it was deleted meanwhile (its record is not brought back), and the storage's error
   * or `ABORTED` when it could not be read (nothing recorded: that proves nothing about the archive).
   */
  verify(server: string, uuid: string, options?: VerifyBackupOptions): Promise<BackupRecord>;
  /**
   * Verifies a sample of the stored successful backups, one at a time in the background queue: those
   * never verified first, then the least recently verified, so repeated samples cover every backup (as
   * restic's `check --read-data-subset`). Resolves with the records verified (passed or failed); a backup
   * that could not be read is left out with a `VERIFICATION_FAILED` warning.
   */
  verifySample(options: VerifySampleOptions): Promise<BackupRecord[]>;
  /**
   * A restore drill: restores a successful backup into a temporary folder (never the server's) with the
   * safe extract, checksum first, compares every entry with the archive's listing (names, kinds, sizes,
   * sha256 of each file computed from the archive stream, link targets) and removes the folder whatever
   * happens. Resolves with the report, `passed` or not; throws when the backup cannot be restored at all
   * (`CHECKSUM_MISMATCH`, `UNSAFE_ARCHIVE_ENTRY`, `BACKUP_NOT_SUCCESSFUL`, ...).
   */
  drill(server: string, uuid: string, options?: DrillOptions): Promise<DrillReport>;
  /** Resolves with the record once the backup has finished, successful or failed. */
  wait(server: string, uuid: string, options?: { signal?: AbortSignal }): Promise<BackupRecord>;
  /**
   * Stops a backup (it becomes failed with error `cancelled`, its partial archive removed) or a restore
   * running or waiting here; resolves with the backup's record once it has stopped.
   */
  cancel(server: string, uuid: string): Promise<BackupRecord>;
  /**
   * Marks failed the in-progress backups whose owner is gone (its process ended on this host, or it
   * stopped refreshing the record) and removes their partial archives. Returns the records it failed.
   * With a replica, also queues again every copy its record shows `pending` or `failed` (left by a crash,
   * or by a replica that was down).
   */
  recover(): Promise<BackupRecord[]>;
  /** Whether a backup or restore runs or waits for the server in this manager. */
  isBusy(server: string): boolean;
  /** What runs (or is next to run) for the server in this manager, if anything. */
  activeOperation(server: string): ActiveOperation | undefined;
  /**
   * Replaces the manager's shared I/O limits; operations already running follow the new rates from their
   * next chunk. A direction left out (or 0) becomes unlimited.
   */
  setRateLimits(limits: RateLimits): void;
  /** The manager's shared I/O limits now in force (bytes per second; absent means unlimited). */
  rateLimits(): RateLimits;
  /** Cancels what runs (verifications too) and stops the refreshes; the manager refuses new work afterwards. */
  close(): Promise<void>;
}
