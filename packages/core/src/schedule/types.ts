import type { ActiveOperation, BackupManager } from "../manager/api.js";
import type { BackupRecord } from "../manager/types.js";

/** A cron schedule that backs up one server. */
export interface BackupSchedule {
  /** Names the schedule in `remove`, `nextRuns` and its runs (1-128 characters); default: a random UUID. */
  id?: string;
  /** The server to back up. */
  server: string;
  /**
   * Five fields, `minute hour day-of-month month day-of-week` (e.g. `0 2 * * *`: 02:00 every day), or
   * `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`. Ranges, lists, steps, names (`MON`, `JAN`),
   * `L` and `#` work as in croner; a day matches when day-of-month or day-of-week does, as in Vixie cron.
   */
  cron: string;
  /**
   * The IANA time zone the expression is read in (`Europe/Berlin`, `UTC`); default: the host's. Across a
   * daylight saving change a run never happens twice: a time skipped in spring runs at the first minute
   * after the change, a time repeated in autumn runs once.
   */
  timezone?: string;
  /** The backup's name, or a function of the run's scheduled time; default: the manager's `Backup at ...`. */
  name?: string | ((scheduledAt: Date) => string);
  /** gitignore-style rules: a newline-separated string or an array of lines. */
  ignored?: string | readonly string[];
  /** Create the backups locked (the policy decides whether a system run may). */
  locked?: boolean;
}

/** A schedule as the scheduler keeps it: validated, with its id and time zone resolved. */
export interface ScheduleInfo {
  id: string;
  server: string;
  /** The expression, with runs of spaces collapsed. */
  cron: string;
  /** The canonical IANA name of the time zone the expression is read in. */
  timezone: string;
  name?: string | ((scheduledAt: Date) => string);
  /** The rule lines, as a backup records them in `ignored_files`. */
  ignored: string[];
  locked: boolean;
}

/** Why a tick started no backup because the server was busy. */
export type SkipReason =
  /** A backup this scheduler started for the server (from this or another schedule) still runs. */
  | "scheduled-backup-running"
  /** The manager runs another backup or a restore for the server. */
  | "server-busy";

interface RunBase {
  /** The schedule's id. */
  schedule: string;
  server: string;
  /** The instant the cron expression named (the timer may fire a little later). */
  scheduledAt: Date;
}

/**
 * What became of one tick of a schedule. A started backup is also reported by the manager's activity
 * events (`server:backup.start`, then `complete` or `fail`); these add the ticks that started nothing.
 */
export type ScheduledRun =
  /** The backup started: its in-progress record. */
  | (RunBase & { status: "started"; backup: BackupRecord })
  /** The backup ended, successful or failed (`backup.is_successful`, `backup.error`). */
  | (RunBase & { status: "finished"; backup: BackupRecord })
  /** Nothing started because the server was busy; the tick is dropped, not queued. */
  | (RunBase & { status: "skipped"; reason: SkipReason; message: string; busyWith?: ActiveOperation })
  /**
   * The manager did not start the backup: a policy refusal (`BACKUP_LIMIT_REACHED` with nothing to
   * rotate, `THROTTLED`, ...), a backup running in another process (`SERVER_STATE_CONFLICT`), a closed
   * manager (`ABORTED`), a storage failure, or a `name` function that threw.
   */
  | (RunBase & { status: "refused"; error: Error });

/** Options of {@link createBackupScheduler}. */
export interface BackupSchedulerOptions {
  /** Runs the backups: each with `scheduled: true` (so the policy may rotate at the limit) and no actor. */
  manager: BackupManager;
  /** The schedules to start with; every one is validated before the scheduler is made. */
  schedules?: readonly BackupSchedule[];
  /** Told about every tick: started and finished backups, skipped and refused ticks. */
  onRun?: (run: ScheduledRun) => void;
  /**
   * Told when `onRun` throws, or when the end of a started backup cannot be read. Without it the first
   * such error is printed with `console.warn` and later ones are dropped.
   */
  onError?: (error: unknown, schedule: ScheduleInfo) => void;
  /** The clock runs are computed from (default: the system clock). */
  now?: () => Date;
}

/** Options of {@link BackupScheduler.stop}. */
export interface StopSchedulerOptions {
  /** Cancel the scheduled backups still running (they end failed, `cancelled`) instead of letting them finish. */
  cancel?: boolean;
}

/**
 * Runs backups on cron schedules, at most one per server at a time. Nothing runs before `start()`;
 * `stop()` before closing the manager.
 */
export interface BackupScheduler {
  /** Arms every schedule's timer; calling it again while started does nothing. */
  start(): void;
  /**
   * Disarms the timers, then resolves once the scheduled backups still running have ended: they finish
   * unless `cancel` is set. The scheduler can be started again.
   */
  stop(options?: StopSchedulerOptions): Promise<void>;
  /** Validates and adds a schedule (armed at once when started); `INVALID_INPUT` when invalid or its id is taken. */
  add(schedule: BackupSchedule): ScheduleInfo;
  /** Removes a schedule; a backup it started keeps running. False when there is no such schedule. */
  remove(id: string): boolean;
  /** The next `count` (1-100) run times of a schedule from now, for a UI; `NOT_FOUND` for an unknown id. */
  nextRuns(id: string, count: number): Date[];
  /** Every schedule, in the order added. */
  list(): ScheduleInfo[];
}
