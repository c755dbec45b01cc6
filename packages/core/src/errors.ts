/**
 * Every failure Strongbox reports carries one of these stable codes. Match on `code`, never on the
 * message: messages are written for people and may be reworded.
 */
export const ERROR_CODES = [
  "NOT_FOUND",
  "INVALID_INPUT",
  "BACKUP_LIMIT_REACHED",
  "THROTTLED",
  "BACKUP_LOCKED",
  "BACKUP_NOT_SUCCESSFUL",
  "SERVER_STATE_CONFLICT",
  "PERMISSION_DENIED",
  "CHECKSUM_MISMATCH",
  "UNSAFE_ARCHIVE_ENTRY",
  "STORAGE_ERROR",
  "INSUFFICIENT_SPACE",
  "ABORTED",
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Options of {@link StrongboxError}. */
export interface StrongboxErrorOptions {
  /** The underlying error, kept for logs. */
  cause?: unknown;
  /** Machine-readable facts about the failure (a path, a limit, the seconds to wait, ...). */
  details?: Record<string, unknown>;
}

/**
 * The one error class of Strongbox: a stable `code` and a message a person can act on.
 *
 * @example
 * ```ts
 * try { await manager.delete(server, uuid) }
 * catch (e) { if (isStrongboxError(e, "BACKUP_LOCKED")) showToast(e.message) }
 * ```
 */
export class StrongboxError extends Error {
  override readonly name = "StrongboxError";
  /** Stable code to branch on. */
  readonly code: ErrorCode;
  /** Facts about the failure, when there are any. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: StrongboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** True when `error` is a {@link StrongboxError}, optionally with the given code. */
export function isStrongboxError(error: unknown, code?: ErrorCode): error is StrongboxError {
  return error instanceof StrongboxError && (code === undefined || error.code === code);
}

/**
 * The error to throw when an operation stops because its AbortSignal fired. Keeps the signal's reason as
 * the cause, so callers that passed their own reason can still find it.
 */
export function abortError(signal: AbortSignal | undefined, what = "The operation"): StrongboxError {
  const reason = signal?.reason;
  if (isStrongboxError(reason)) return reason;
  return new StrongboxError("ABORTED", `${what} was cancelled.`, { cause: reason });
}

/** Throws {@link abortError} when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}
