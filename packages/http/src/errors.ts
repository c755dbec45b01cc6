import type { ErrorCode } from "@strongbox/core";
import { isStrongboxError } from "@strongbox/core";

/** A status, the panel's exception name and a sentence: what `{errors: [{code, status, detail}]}` carries. */
export interface HttpFailure {
  status: number;
  code: string;
  detail: string;
  /** Extra response headers (`Retry-After`). */
  headers?: Record<string, string>;
}

// The panel's exception names, so a panel's client code keeps working unchanged.
const BY_CODE: Record<ErrorCode, { status: number; code: string }> = {
  NOT_FOUND: { status: 404, code: "NotFoundHttpException" },
  INVALID_INPUT: { status: 422, code: "ValidationException" },
  BACKUP_LIMIT_REACHED: { status: 400, code: "TooManyBackupsException" },
  THROTTLED: { status: 429, code: "TooManyRequestsHttpException" },
  BACKUP_LOCKED: { status: 400, code: "BadRequestHttpException" },
  BACKUP_NOT_SUCCESSFUL: { status: 400, code: "BadRequestHttpException" },
  // The server is busy (a backup or restore runs): the request may succeed later. Restore turns it into
  // the panel's 400 (see RESTORE_STATE_CONFLICT).
  SERVER_STATE_CONFLICT: { status: 409, code: "ConflictHttpException" },
  PERMISSION_DENIED: { status: 403, code: "AccessDeniedHttpException" },
  // The stored archive is damaged or hostile: a state of the resource, not of the request.
  CHECKSUM_MISMATCH: { status: 409, code: "ConflictHttpException" },
  UNSAFE_ARCHIVE_ENTRY: { status: 409, code: "ConflictHttpException" },
  STORAGE_ERROR: { status: 502, code: "StorageException" },
  INSUFFICIENT_SPACE: { status: 507, code: "InsufficientStorageException" },
  // Only seen in a request when the manager is closing: the daemon is shutting down.
  ABORTED: { status: 503, code: "ServiceUnavailableHttpException" },
};

/** The panel answers every restore refused for the server's state with a 400 `BadRequestHttpException`. */
export const RESTORE_STATE_CONFLICT = { status: 400, code: "BadRequestHttpException" } as const;

/** An error the API answers with a given status; for failures that are not the engine's (401, bodies). */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** The panel's exception name, e.g. `BadRequestHttpException`. */
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Maps any thrown value to the status and body the API answers with. `overrides` replaces the mapping of
 * some engine codes for one route. Unknown errors become a 500 whose detail reveals nothing.
 */
export function toHttpFailure(
  error: unknown,
  overrides: Partial<Record<ErrorCode, { status: number; code: string }>> = {},
): HttpFailure {
  if (error instanceof HttpError) return { status: error.status, code: error.code, detail: error.message };
  if (isStrongboxError(error)) {
    const failure: HttpFailure = { ...(overrides[error.code] ?? BY_CODE[error.code]), detail: error.message };
    const retryAfter = error.details?.retryAfterSeconds;
    if (typeof retryAfter === "number") failure.headers = { "retry-after": String(retryAfter) };
    return failure;
  }
  return {
    status: 500,
    code: "InternalServerErrorException",
    detail: "An unexpected error was encountered.",
  };
}

/** The error body: `{errors: [{code, status, detail}]}`, as the panel sends it. */
export function errorBody(failure: HttpFailure) {
  return { errors: [{ code: failure.code, status: String(failure.status), detail: failure.detail }] };
}
