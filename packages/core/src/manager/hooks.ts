import { abortError, isStrongboxError, StrongboxError, throwIfAborted } from "../errors.js";
import type { ManagerContext } from "./context.js";
import type { BackupRecord } from "./types.js";

/** What a hook is told. */
export interface HookContext {
  /** The server id. */
  server: string;
  /**
   * The backup: its in-progress record before a backup, its final record (successful or failed) after
   * one, and the backup being restored around a restore.
   */
  record: BackupRecord;
  /**
   * Fires when the hook has run out of time (`timeoutMs`); for before-hooks also when the operation is
   * cancelled. After-hooks are never cancelled with the operation, so they can always undo what the
   * before-hook did.
   */
  signal: AbortSignal;
}

/** What an after-hook is told: the context, plus why the operation failed. */
export interface AfterHookContext extends HookContext {
  /** The failure (a `StrongboxError` with code `ABORTED` when cancelled); absent when it succeeded. */
  error?: Error;
}

/**
 * Awaited callbacks around backups and restores, e.g. `save-off` + `save-all` before a backup and
 * `save-on` after it. A before-hook runs once the operation's checks (policy, free space) passed, right
 * before data moves; when it throws or times out the operation fails with its message and nothing moves.
 * The after-hook then runs whatever happened (success, failure, cancel, a failed before-hook), once; if it
 * throws, the outcome stands and an `onWarning` with code `HOOK_FAILED` says so. The server stays busy
 * (no other backup or restore) until the after-hook has returned.
 */
export interface OperationHooks {
  beforeBackup?: (context: HookContext) => void | Promise<void>;
  afterBackup?: (context: AfterHookContext) => void | Promise<void>;
  beforeRestore?: (context: HookContext) => void | Promise<void>;
  afterRestore?: (context: AfterHookContext) => void | Promise<void>;
  /** Most milliseconds one hook may take (default 60,000); then its signal fires and it counts as failed. */
  timeoutMs?: number;
}

/** Time a hook may take unless `timeoutMs` says otherwise. */
export const DEFAULT_HOOK_TIMEOUT_MS = 60_000;

/** The name of one hook of {@link OperationHooks}. */
export type HookName = "beforeBackup" | "afterBackup" | "beforeRestore" | "afterRestore";

/** Checks `hooks` (each a function, a sane timeout) and returns the timeout to use. */
export function checkHooks(hooks: OperationHooks): number {
  for (const name of ["beforeBackup", "afterBackup", "beforeRestore", "afterRestore"] as const) {
    if (hooks[name] !== undefined && typeof hooks[name] !== "function") {
      throw new StrongboxError("INVALID_INPUT", `The ${name} hook must be a function.`, {
        details: { hook: name },
      });
    }
  }
  const timeoutMs = hooks.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new StrongboxError("INVALID_INPUT", "The hook timeout must be a number of milliseconds above 0.", {
      details: { timeoutMs },
    });
  }
  return timeoutMs;
}

/**
 * Awaits one hook for at most `timeoutMs`. `cancel` (before-hooks only) also stops it. A hook that throws
 * or runs out of time becomes a `StrongboxError` whose message names the hook (with the code the hook
 * threw, else `SERVER_STATE_CONFLICT`: the server could not be put in the state the operation needs);
 * `ABORTED` when `cancel` fired. A hook that ignores its signal is left running, no longer awaited.
 */
export async function runHook<C extends HookContext>(
  name: HookName,
  hook: ((context: C) => void | Promise<void>) | undefined,
  context: Omit<C, "signal">,
  timeoutMs: number,
  cancel?: AbortSignal,
): Promise<void> {
  if (!hook) return;
  throwIfAborted(cancel, `The ${name} hook`);
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), timeoutMs);
  const signal = cancel ? AbortSignal.any([cancel, timer.signal]) : timer.signal;
  let onStop!: () => void;
  const stopped = new Promise<never>((_, reject) => {
    onStop = () => reject(signal.reason);
    signal.addEventListener("abort", onStop, { once: true });
  });
  try {
    await Promise.race([(async () => hook({ ...context, signal } as C))(), stopped]);
  } catch (error) {
    if (cancel?.aborted) throw abortError(cancel, `The ${name} hook`);
    if (timer.signal.aborted) {
      throw new StrongboxError(
        "SERVER_STATE_CONFLICT",
        `The ${name} hook did not finish within ${formatSeconds(timeoutMs)}; make it faster or raise its timeout.`,
        { details: { hook: name, timeoutMs } },
      );
    }
    throw new StrongboxError(
      isStrongboxError(error) ? error.code : "SERVER_STATE_CONFLICT",
      `The ${name} hook failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, details: { hook: name } },
    );
  } finally {
    clearTimeout(timeout);
    signal.removeEventListener("abort", onStop);
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * Runs an after-hook with the operation's final `record` and its `error`, if it failed. Never cancelled
 * with the operation, and never changes its outcome: a failure becomes a `HOOK_FAILED` warning.
 */
export async function runAfterHook(
  context: ManagerContext,
  name: "afterBackup" | "afterRestore",
  hook: OperationHooks["afterBackup"],
  record: BackupRecord,
  error: Error | undefined,
): Promise<void> {
  const operation = name === "afterBackup" ? "backup" : "restore";
  const told = { server: record.server, record: { ...record }, ...(error ? { error } : {}) };
  try {
    await runHook(name, hook, told, context.hookTimeoutMs);
  } catch (failure) {
    context.onWarning({
      server: record.server,
      backup: record.uuid,
      code: "HOOK_FAILED",
      message: `${(failure as Error).message.replace(/\.?$/, ".")} The ${operation} itself ${error ? "had failed" : "succeeded"}.`,
    });
  }
}
