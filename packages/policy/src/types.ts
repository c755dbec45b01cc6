/**
 * The shapes this package decides about. They are structurally identical to the ones `@strongbox/core`
 * declares (`packages/core/src/manager/types.ts`), declared again here so that policy depends on nothing at
 * runtime; a type test keeps the two in step.
 */

/** The stable error codes of Strongbox (same list as core's `ERROR_CODES`). */
export type ErrorCode =
  | "NOT_FOUND"
  | "INVALID_INPUT"
  | "BACKUP_LIMIT_REACHED"
  | "THROTTLED"
  | "BACKUP_LOCKED"
  | "BACKUP_NOT_SUCCESSFUL"
  | "SERVER_STATE_CONFLICT"
  | "PERMISSION_DENIED"
  | "CHECKSUM_MISMATCH"
  | "UNSAFE_ARCHIVE_ENTRY"
  | "STORAGE_ERROR"
  | "INSUFFICIENT_SPACE"
  | "ABORTED";

/** The outcome of reading a backup's archive back: it matched its record (`passed`) or not (`failed`). */
export type BackupVerification = "passed" | "failed";

/** The process that runs an in-progress backup. */
export interface BackupOwner {
  host: string;
  pid: number;
  /** ISO 8601 time of the last refresh. */
  heartbeat_at: string;
}

/**
 * A backup as the panel API shows it. Status: in progress while `completed_at` is null; successful when
 * `is_successful`; failed otherwise.
 */
export interface BackupRecord {
  uuid: string;
  /** The server id the backup belongs to. */
  server: string;
  name: string;
  ignored_files: string[];
  /** `sha256:<hex>` of the archive, null until the backup succeeded. */
  checksum: string | null;
  /** Archive size in bytes, 0 until the backup succeeded. */
  bytes: number;
  is_successful: boolean;
  is_locked: boolean;
  /** ISO 8601 with offset, e.g. `2025-01-15T10:30:00+00:00`. */
  created_at: string;
  completed_at: string | null;
  /** The storage adapter's name. */
  disk: string;
  /** Why a failed backup failed, when known. */
  error?: string;
  /** Who is running an in-progress backup. */
  owner?: BackupOwner;
  /** Bytes of file content in a successful backup (before compression); absent from older backups. */
  source_bytes?: number;
  /** Regular files in a successful backup; absent like `source_bytes`. */
  files?: number;
  /**
   * When the archive was last read back and checked against `checksum` and `bytes` (ISO 8601 with offset).
   * Not part of the panel API; absent until the backup is first verified.
   */
  verified_at?: string;
  /** The outcome of the check at `verified_at`: the archive matched its record, or not. */
  verification?: BackupVerification;
  /** What was wrong (a sentence), when `verification` is `failed`. */
  verification_error?: string;
  /** The backup's copies in a replica storage; absent without a replica and on failed backups. */
  copies?: BackupCopy[];
}

/** One copy of a backup in a replica storage, and its state (see `@strongbox/core`). */
export interface BackupCopy {
  /** The replica storage's adapter name. */
  disk: string;
  state: "pending" | "copied" | "failed" | "removed";
  /** When `state` was set, ISO 8601. */
  at: string;
  /** Why the last attempt failed, for `failed`. */
  error?: string;
}

/** Who asks for an action, and the permissions they hold (`backup.create`, `backup.delete`, ...). */
export interface Actor {
  id: string;
  permissions: readonly string[];
}

/** The state of a game server as the embedder reports it. */
export type ServerState =
  | "running"
  | "offline"
  | "starting"
  | "stopping"
  | "installing"
  | "suspended"
  | "transferring"
  | "restoring_backup"
  | (string & {});

/** A refusal: the error code and message the manager throws, and facts for `details`. */
export interface Refusal {
  ok: false;
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** A policy's answer: allowed, or refused. */
export type Decision = { ok: true } | Refusal;

/** Answer to a create question: allowed (possibly after deleting the backups listed in `rotate`), or refused. */
export type CreateDecision = { ok: true; rotate?: readonly string[] } | Refusal;

/** What every policy question is told. */
export interface PolicyInput {
  server: string;
  /** Absent when the system (CLI, scheduler) asks rather than a person. */
  actor?: Actor;
  now: Date;
  /** Every backup of the server (in progress, successful and failed), newest first. */
  backups: readonly BackupRecord[];
}

/** Input of {@link BackupPolicy.create}. */
export type CreateInput = PolicyInput & { locked: boolean; scheduled: boolean };
/** Input of {@link BackupPolicy.delete} and {@link BackupPolicy.download}. */
export type BackupInput = PolicyInput & { backup: BackupRecord };
/** Input of {@link BackupPolicy.setLocked}. */
export type SetLockedInput = PolicyInput & { backup: BackupRecord; locked: boolean };
/** Input of {@link BackupPolicy.restore}. */
export type RestoreInput = PolicyInput & { backup: BackupRecord; serverState: ServerState };

/** Rules the manager asks before acting. Every method is optional: a missing one allows. */
export interface BackupPolicy {
  /** Before a backup starts. `scheduled` backups may rotate out old ones at the limit. */
  create?(input: CreateInput): CreateDecision;
  /** Before a backup is deleted. */
  delete?(input: BackupInput): Decision;
  /** Before a backup is locked or unlocked. */
  setLocked?(input: SetLockedInput): Decision;
  /** Before a restore starts. */
  restore?(input: RestoreInput): Decision;
  /** Before a download link is handed out. */
  download?(input: BackupInput): Decision;
  /** Which backups retention would remove now (uuids); never locked or in-progress ones. */
  retention?(input: PolicyInput): readonly string[];
}

/** At most `limit` backups may be created per server within any `periodMs` window. */
export interface ThrottleOptions {
  /** Creations allowed per window, at least 1. */
  limit: number;
  /** Window length in milliseconds, above 0. */
  periodMs: number;
}

/**
 * Which completed, unlocked backups retention removes.
 *
 * The keep rules (`keepLast`, `keepHourly` ... `keepYearly`, `keepWithin`) are restic's `forget --keep-*`
 * exactly, over the server's successful backups: a successful backup goes when none of them keeps it. A
 * failed backup takes no bucket (it restores nothing): it stays while it is newer than the oldest backup
 * the keep rules keep, and goes when older, unless the keep rules remove no successful backup at all. The caps (`maxAgeMs`, `maxTotalBytes`) apply after the keep rules and remove even
 * what a keep rule kept. Whatever the rules say, locked and in-progress backups, backups whose `created_at`
 * does not parse, the newest successful backup and the last one that verified successfully always stay; a locked backup takes its place in the
 * buckets like any other (as a restic snapshot kept by `--keep-tag`).
 */
export interface RetentionOptions {
  /** Keep the newest N successful backups (at least 1), as restic's `--keep-last`. */
  keepLast?: number;
  /** For the last N hours that have backups, keep the newest of each hour (`--keep-hourly`). */
  keepHourly?: number;
  /** For the last N days that have backups, keep the newest of each day (`--keep-daily`). */
  keepDaily?: number;
  /** For the last N ISO weeks (Monday to Sunday) that have backups, keep the newest of each (`--keep-weekly`). */
  keepWeekly?: number;
  /** For the last N months that have backups, keep the newest of each month (`--keep-monthly`). */
  keepMonthly?: number;
  /** For the last N years that have backups, keep the newest of each year (`--keep-yearly`). */
  keepYearly?: number;
  /**
   * Keep every successful backup made within this duration before the newest one (not before now), as
   * restic's `--keep-within`: `1y5m7d2h` (years, months, days, hours, in that order, each optional).
   */
  keepWithin?: string;
  /**
   * IANA time zone (`Europe/Berlin`) whose wall clock the hourly ... yearly buckets and `keepWithin`'s
   * days follow, daylight saving time included. Default: the zone of the process (as restic, from `TZ`).
   */
  timeZone?: string;
  /** Remove completed backups created more than this many milliseconds before now. */
  maxAgeMs?: number;
  /** Remove the oldest successful backups while the server's backups total more bytes than this. */
  maxTotalBytes?: number;
}

/** Options of `createPolicy`. Every rule is off unless configured, except rotation and permissions. */
export interface PolicyOptions {
  /**
   * Most backups a server may hold, failed and in-progress ones included; 0 allows none. A function gives
   * each server its own limit (return undefined for unlimited; an invalid number throws a RangeError when
   * asked). Undefined: unlimited.
   */
  maxBackups?: number | ((server: string) => number | undefined);
  /** Limit how often a server may create backups. Off when undefined. */
  throttle?: ThrottleOptions;
  /** What `BackupPolicy.retention` removes. Off (removes nothing) when undefined. */
  retention?: RetentionOptions;
  /** Let a scheduled backup at the limit delete the oldest successful, unlocked backups. Default true. */
  rotateScheduled?: boolean;
  /**
   * Check the actor's permissions (default true). Checks apply only when an actor is given: a call without
   * an actor comes from the system (CLI, scheduler) and skips them.
   */
  requirePermissions?: boolean;
}
