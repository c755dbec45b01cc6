import type { ErrorCode } from "../errors.js";

/**
 * A backup as the panel API shows it (`attributes` of `{object: "backup"}`), plus where it lives.
 * Status: in progress while `completed_at` is null; successful when `is_successful`; failed otherwise.
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
  /** The storage adapter's name (`local`, `s3`, ...). */
  disk: string;
  /** Why a failed backup failed (a sentence), when known. */
  error?: string;
  /** Who is running an in-progress backup; used to tell a live backup from a crashed one. */
  owner?: BackupOwner;
  /**
   * Bytes of file content in a successful backup (before compression), for the space check of a
   * restore. Not part of the panel API; absent from backups made before it was recorded.
   */
  source_bytes?: number;
  /** Regular files in a successful backup. Not part of the panel API; absent like `source_bytes`. */
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
  /**
   * The backup's copies in a replica storage (see `BackupManagerOptions.replica`), one per replica disk.
   * Absent when the manager has no replica, and on failed backups.
   */
  copies?: BackupCopy[];
}

/**
 * One copy of a backup in a replica storage. `pending`: to be copied (queued, being copied, or waiting to
 * try again); `copied`: the archive verified on arrival and its manifest is there; `failed`: every attempt
 * failed (the manager tries again on its next `recover`); `removed`: the replica's retention removed it.
 */
export interface BackupCopy {
  /** The replica storage's adapter name (`s3`, `local`, ...). */
  disk: string;
  state: "pending" | "copied" | "failed" | "removed";
  /** When `state` was set, ISO 8601. */
  at: string;
  /** Why the last attempt failed (a sentence), for `failed`. */
  error?: string;
}

/** The outcome of reading a backup's archive back: it matched its record (`passed`) or not (`failed`). */
export type BackupVerification = "passed" | "failed";

/** The process that runs an in-progress backup, refreshed while it runs. */
export interface BackupOwner {
  host: string;
  pid: number;
  /** ISO 8601 time of the last refresh. */
  heartbeat_at: string;
}

/** Who asks for an action, and what they may do (`backup.create`, `backup.read`, `backup.download`, `backup.restore`, `backup.delete`). */
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

/** A policy's answer: allowed, or refused with the error code and message the manager throws. */
export type Decision =
  | { ok: true }
  | { ok: false; code: ErrorCode; message: string; details?: Record<string, unknown> };

/** What every policy question is told. */
export interface PolicyInput {
  server: string;
  actor?: Actor;
  now: Date;
  /** Every backup of the server (in progress, successful and failed), newest first. */
  backups: readonly BackupRecord[];
}

/** Answer to a create question: allowed (possibly after deleting the backups listed in `rotate`), or refused. */
export type CreateDecision = { ok: true; rotate?: readonly string[] } | Extract<Decision, { ok: false }>;

/**
 * Rules the manager asks before acting. Every method is optional: a missing one allows. The
 * `@strongbox/policy` package builds one from limits, locks, throttle and server-state rules; an embedder
 * may wrap or replace any method.
 */
export interface BackupPolicy {
  /** Before a backup starts. `scheduled` backups may rotate out old ones at the limit. */
  create?(input: PolicyInput & { locked: boolean; scheduled: boolean }): CreateDecision;
  /** Before a backup is deleted. */
  delete?(input: PolicyInput & { backup: BackupRecord }): Decision;
  /** Before a backup is locked or unlocked. */
  setLocked?(input: PolicyInput & { backup: BackupRecord; locked: boolean }): Decision;
  /** Before a restore starts. */
  restore?(input: PolicyInput & { backup: BackupRecord; serverState: ServerState }): Decision;
  /** Before a download link is handed out. */
  download?(input: PolicyInput & { backup: BackupRecord }): Decision;
  /** Which backups retention would remove now (uuids); never locked or in-progress ones. */
  retention?(input: PolicyInput): readonly string[];
}

interface ActivityBase<E extends string, P> {
  event: E;
  server: string;
  /** The backup's uuid. */
  backup: string;
  /** The actor's id, when an actor asked for the action. */
  actor?: string;
  /** ISO 8601. */
  timestamp: string;
  properties: P;
}

/** Every activity event, as the activity log records it. */
export type ActivityEvent =
  | ActivityBase<"server:backup.start", { name: string; locked: boolean }>
  | ActivityBase<"server:backup.complete", { name: string; bytes: number; checksum: string }>
  | ActivityBase<"server:backup.fail", { name: string; error: string }>
  | ActivityBase<"server:backup.download", { name: string } & ReplicaSource>
  | ActivityBase<"server:backup.restore", { name: string; truncate: boolean }>
  | ActivityBase<"server:backup.restore-complete", { name: string } & ReplicaSource>
  | ActivityBase<"server:backup.restore-fail", { name: string; error: string }>
  | ActivityBase<"server:backup.lock", { name: string }>
  | ActivityBase<"server:backup.unlock", { name: string }>
  | ActivityBase<"server:backup.delete", { name: string; failed: boolean }>
  | ActivityBase<"server:backup.replicate", { name: string; disk: string }>
  | ActivityBase<
      "server:backup.replicate-fail",
      { name: string; disk: string; error: string; attempts: number }
    >
  | ActivityBase<"server:backup.verify", { name: string; bytes: number; checksum: string }>
  | ActivityBase<"server:backup.verify-fail", { name: string; error: string }>;

/**
 * Set on a download or restore served from the replica: `source: "replica"` and why the primary copy was
 * not used. Absent when the primary storage served it.
 */
export interface ReplicaSource {
  source?: "replica";
  /** What was wrong with the primary copy: missing, or not matching its checksum. */
  reason?: string;
}

/** The event names of {@link ActivityEvent}. */
export type ActivityEventName = ActivityEvent["event"];
