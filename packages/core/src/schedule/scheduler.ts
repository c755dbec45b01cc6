import { StrongboxError } from "../errors.js";
import type { BackupRecord } from "../manager/types.js";
import { type CompiledSchedule, compileSchedule } from "./schedule-input.js";
import type { BackupScheduler, BackupSchedulerOptions, ScheduledRun, ScheduleInfo } from "./types.js";
import { wakeAt } from "./wake.js";

const MAX_NEXT_RUNS = 100;

interface Entry extends CompiledSchedule {
  disarm?: () => void;
}

type RunBase = Pick<ScheduledRun, "schedule" | "server" | "scheduledAt">;

/**
 * Creates a {@link BackupScheduler} that backs servers up on cron schedules through `manager`. Every
 * schedule is validated here, so a bad expression or time zone fails now (`INVALID_INPUT`), not at 02:00.
 *
 * A tick starts a backup only when the server is idle: while a scheduled backup, a manual backup or a
 * restore of the server runs, the tick is reported as `skipped` and dropped. A machine that slept through
 * a run time makes up for it once, when it wakes, not once per missed time.
 *
 * @example
 * ```ts
 * const scheduler = createBackupScheduler({
 *   manager,
 *   schedules: [{ server: "a1b2c3d4", cron: "0 2 * * *", timezone: "Europe/Berlin", name: (at) => `Nightly ${at.toISOString().slice(0, 10)}` }],
 *   onRun: (run) => { if (run.status === "skipped" || run.status === "refused") log.warn(run) },
 * });
 * scheduler.start();
 * // on shutdown: await scheduler.stop(); await manager.close();
 * ```
 */
export function createBackupScheduler(options: BackupSchedulerOptions): BackupScheduler {
  const { manager } = options;
  const now = options.now ?? (() => new Date());
  const entries = new Map<string, Entry>();
  for (const schedule of options.schedules ?? []) addEntry(entries, compileSchedule(schedule));
  // Per server, the scheduled backup in flight: from its tick to the end of the backup.
  const running = new Map<string, Promise<void>>();
  // Set while started; aborting it cancels the scheduled backups it started.
  let controller: AbortController | undefined;
  const fail = errorReporter(options.onError);

  const emit = (run: ScheduledRun, info: ScheduleInfo): void => {
    try {
      options.onRun?.(run);
    } catch (error) {
      fail(error, info);
    }
  };

  function arm(entry: Entry, after: Date, signal: AbortSignal): void {
    const at = entry.pattern.nextRun(after);
    if (!at) return;
    entry.disarm = wakeAt(at, now, () => {
      entry.disarm = undefined;
      tick(entry.info, at, signal);
      // `onRun` may have removed the schedule or stopped the scheduler.
      if (entries.get(entry.info.id) !== entry || controller?.signal !== signal) return;
      // Never from before `at`: a clock set back must not run the same time twice.
      arm(entry, new Date(Math.max(now().getTime(), at.getTime())), signal);
    });
  }

  function tick(info: ScheduleInfo, scheduledAt: Date, signal: AbortSignal): void {
    const base: RunBase = { schedule: info.id, server: info.server, scheduledAt };
    const busy = busyReason(info.server);
    if (busy) {
      emit({ ...base, status: "skipped", ...busy }, info);
      return;
    }
    const run = runBackup(info, base, signal).finally(() => running.delete(info.server));
    running.set(info.server, run);
  }

  /** Why a run for `server` may not start now, if it may not. */
  function busyReason(
    server: string,
  ): Omit<Extract<ScheduledRun, { status: "skipped" }>, keyof RunBase | "status"> | undefined {
    if (running.has(server)) {
      const message = `A scheduled backup of server ${server} is still running, so this run was skipped.`;
      return { reason: "scheduled-backup-running", message };
    }
    if (!manager.isBusy(server)) return undefined;
    const busyWith = manager.activeOperation(server);
    const doing = busyWith?.operation === "restore" ? "restoring a backup" : "being backed up";
    return {
      reason: "server-busy",
      message: `Server ${server} was ${doing}, so this scheduled run was skipped.`,
      busyWith,
    };
  }

  /** Starts the backup and follows it to its end; never rejects. */
  async function runBackup(info: ScheduleInfo, base: RunBase, signal: AbortSignal): Promise<void> {
    let started: BackupRecord;
    try {
      const name = typeof info.name === "function" ? info.name(base.scheduledAt) : info.name;
      started = await manager.create(info.server, {
        ...(name === undefined ? {} : { name }),
        ignored: info.ignored,
        locked: info.locked,
        scheduled: true,
        signal,
      });
    } catch (error) {
      emit({ ...base, status: "refused", error: asError(error) }, info);
      return;
    }
    emit({ ...base, status: "started", backup: started }, info);
    try {
      emit({ ...base, status: "finished", backup: await manager.wait(info.server, started.uuid) }, info);
    } catch (error) {
      fail(error, info);
    }
  }

  return {
    start() {
      if (controller) return;
      controller = new AbortController();
      const started = now();
      for (const entry of entries.values()) arm(entry, started, controller.signal);
    },

    async stop({ cancel = false } = {}) {
      for (const entry of entries.values()) disarm(entry);
      if (cancel) {
        controller?.abort(
          new StrongboxError("ABORTED", "The scheduled backup was cancelled because its scheduler stopped."),
        );
      }
      controller = undefined;
      await Promise.all(running.values());
    },

    add(schedule) {
      const entry = addEntry(entries, compileSchedule(schedule));
      if (controller) arm(entry, now(), controller.signal);
      return copy(entry.info);
    },

    remove(id) {
      const entry = entries.get(id);
      if (!entry) return false;
      disarm(entry);
      entries.delete(id);
      return true;
    },

    nextRuns(id, count) {
      if (!Number.isInteger(count) || count < 1 || count > MAX_NEXT_RUNS) {
        throw new StrongboxError("INVALID_INPUT", `Ask for 1 to ${MAX_NEXT_RUNS} next runs.`, {
          details: { count },
        });
      }
      const entry = entries.get(id);
      if (!entry) {
        throw new StrongboxError("NOT_FOUND", `There is no backup schedule ${JSON.stringify(id)}.`, {
          details: { schedule: id },
        });
      }
      return entry.pattern.nextRuns(count, now());
    },

    list: () => [...entries.values()].map((entry) => copy(entry.info)),
  };
}

function addEntry(entries: Map<string, Entry>, compiled: CompiledSchedule): Entry {
  const { id } = compiled.info;
  if (entries.has(id)) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `A backup schedule with id ${JSON.stringify(id)} exists already.`,
      {
        details: { schedule: id },
      },
    );
  }
  const entry: Entry = { ...compiled };
  entries.set(id, entry);
  return entry;
}

function disarm(entry: Entry): void {
  entry.disarm?.();
  entry.disarm = undefined;
}

function copy(info: ScheduleInfo): ScheduleInfo {
  return { ...info, ignored: [...info.ignored] };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Hands scheduler errors to `onError`; without it warns once, so a broken listener cannot flood the console. */
function errorReporter(
  onError: BackupSchedulerOptions["onError"],
): (error: unknown, schedule: ScheduleInfo) => void {
  let warned = false;
  return (error, schedule) => {
    if (onError) {
      // The handler belongs to the embedder too: it must not stop the timers.
      try {
        onError(error, schedule);
      } catch {}
      return;
    }
    if (warned) return;
    warned = true;
    console.warn(
      `strongbox: backup schedule ${schedule.id} hit an error; later errors are not shown.`,
      error,
    );
  };
}
