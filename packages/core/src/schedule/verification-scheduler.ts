import { StrongboxError } from "../errors.js";
import type { BackupManager } from "../manager/api.js";
import { sampleSizer } from "../manager/background-verify.js";
import type { BackupRecord } from "../manager/types.js";
import { compileCron, resolveTimeZone } from "./cron.js";
import { wakeAt } from "./wake.js";

/** Options of {@link createVerificationScheduler}. */
export interface VerificationSchedulerOptions {
  /** Verifies the samples (`manager.verifySample`): one backup at a time, under its `read` limit. */
  manager: BackupManager;
  /** When to verify a sample, as a backup schedule's `cron` (five fields or `@daily`, ...). */
  cron: string;
  /** The IANA time zone `cron` is read in; default: the host's. */
  timezone?: string;
  /** Backups verified per run (all servers together); give this or `fraction`. */
  count?: number;
  /**
   * Share of the successful backups verified per run, 0 < fraction <= 1 (rounded up): with 0.1, every
   * backup is read back within ten runs, least recently verified first.
   */
  fraction?: number;
  /** Only these servers; default: every server with backups in the manager's catalog. */
  servers?: readonly string[];
  /** Told about every run once it ended (or was skipped). A throwing listener is ignored. */
  onRun?: (run: VerificationRun) => void;
  /** The clock runs are computed from (default: the system clock). */
  now?: () => Date;
}

/**
 * What became of one run: the backups it verified (passed or failed, see each record's `verification`),
 * skipped because the previous run was still reading, or failed as a whole (the catalog could not be read).
 */
export type VerificationRun =
  | { scheduledAt: Date; status: "finished"; verified: BackupRecord[] }
  | { scheduledAt: Date; status: "skipped"; message: string }
  | { scheduledAt: Date; status: "failed"; error: Error };

/** Verifies a sample of stored backups on a cron schedule. Nothing runs before `start()`. */
export interface VerificationScheduler {
  /** Arms the timer; calling it again while started does nothing. */
  start(): void;
  /** Disarms the timer and resolves once a run under way ended; with `cancel` it is cancelled instead. */
  stop(options?: { cancel?: boolean }): Promise<void>;
  /** The next `count` (1-100) run times from now. */
  nextRuns(count: number): Date[];
}

const MAX_NEXT_RUNS = 100;

/**
 * Creates a {@link VerificationScheduler}: each run verifies a sample of the stored successful backups,
 * never verified ones first, then the least recently verified, so that runs cover every backup in turn
 * (as restic's `check --read-data-subset n/t`). A run still reading when the next one is due makes that
 * one skip. Every option is checked now (`INVALID_INPUT`), not at the first run.
 *
 * @example
 * ```ts
 * const verifier = createVerificationScheduler({ manager, cron: "30 4 * * *", fraction: 0.1 });
 * verifier.start();
 * // on shutdown: await verifier.stop({ cancel: true }); await manager.close();
 * ```
 */
export function createVerificationScheduler(options: VerificationSchedulerOptions): VerificationScheduler {
  const { manager } = options;
  const now = options.now ?? (() => new Date());
  const { pattern } = compileCron(options.cron, resolveTimeZone(options.timezone));
  sampleSizer(options);
  let controller: AbortController | undefined;
  let disarm: (() => void) | undefined;
  let running: Promise<void> | undefined;

  const report = (run: VerificationRun): void => {
    try {
      options.onRun?.(run);
    } catch {
      // The listener belongs to the embedder: it must not stop the timer.
    }
  };

  function arm(after: Date, signal: AbortSignal): void {
    const at = pattern.nextRun(after);
    if (!at) return;
    disarm = wakeAt(at, now, () => {
      disarm = undefined;
      tick(at, signal);
      if (controller?.signal !== signal) return;
      arm(new Date(Math.max(now().getTime(), at.getTime())), signal);
    });
  }

  function tick(scheduledAt: Date, signal: AbortSignal): void {
    if (running) {
      report({ scheduledAt, status: "skipped", message: "The previous verification run was still reading." });
      return;
    }
    running = verify(scheduledAt, signal).finally(() => {
      running = undefined;
    });
  }

  async function verify(scheduledAt: Date, signal: AbortSignal): Promise<void> {
    try {
      const verified = await manager.verifySample({
        ...(options.count === undefined ? {} : { count: options.count }),
        ...(options.fraction === undefined ? {} : { fraction: options.fraction }),
        ...(options.servers ? { servers: options.servers } : {}),
        signal,
      });
      report({ scheduledAt, status: "finished", verified });
    } catch (error) {
      report({
        scheduledAt,
        status: "failed",
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
  }

  return {
    start() {
      if (controller) return;
      controller = new AbortController();
      arm(now(), controller.signal);
    },
    async stop({ cancel = false } = {}) {
      disarm?.();
      disarm = undefined;
      if (cancel) {
        controller?.abort(
          new StrongboxError("ABORTED", "The verification was cancelled: its scheduler stopped."),
        );
      }
      controller = undefined;
      await running;
    },
    nextRuns(count) {
      if (!Number.isInteger(count) || count < 1 || count > MAX_NEXT_RUNS) {
        throw new StrongboxError("INVALID_INPUT", `Ask for 1 to ${MAX_NEXT_RUNS} next runs.`, {
          details: { count },
        });
      }
      return pattern.nextRuns(count, now());
    },
  };
}
