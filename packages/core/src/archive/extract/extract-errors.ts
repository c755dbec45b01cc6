import { isStrongboxError, StrongboxError } from "../../errors.js";

/** `INVALID_INPUT` for an archive whose bytes cannot be read as a complete tar.gz. */
export function corruptArchive(reason: string, details: Record<string, unknown> = {}): StrongboxError {
  return new StrongboxError("INVALID_INPUT", `The archive is corrupt or truncated: ${reason}.`, {
    details: { ...details, reason },
  });
}

/** `UNSAFE_ARCHIVE_ENTRY` for an entry that would write outside the target or through a link. */
export function unsafeEntry(path: string, reason: string): StrongboxError {
  return new StrongboxError(
    "UNSAFE_ARCHIVE_ENTRY",
    `The archive was refused because its entry "${path}" ${reason}; nothing was changed.`,
    { details: { path, reason } },
  );
}

/** Why Strongbox cannot restore an entry of these tar types (others are simply unknown). */
const UNSUPPORTED_TYPES: Record<string, string> = {
  M: "continues a file from an earlier volume of a multi-volume archive (join the volumes with GNU tar's -M)",
};

/**
 * `INVALID_INPUT` for an entry Strongbox cannot restore faithfully: a multi-volume continuation, or a type
 * letter it does not know (GNU tar would write those as plain files, a different tree).
 */
export function unsupportedEntry(path: string, typeflag: string): StrongboxError {
  const reason =
    UNSUPPORTED_TYPES[typeflag] ??
    `has the tar type ${JSON.stringify(typeflag)}, which Strongbox cannot restore`;
  return new StrongboxError(
    "INVALID_INPUT",
    `The archive was refused because its entry "${path}" ${reason}; nothing was changed.`,
    {
      details: { path, typeflag, reason },
    },
  );
}

/** `INVALID_INPUT` for an archive that goes past one of the configured extract limits. */
export function limitExceeded(limit: string, value: number, max: number): StrongboxError {
  return new StrongboxError(
    "INVALID_INPUT",
    `The archive was refused because it exceeds the ${limit} limit (${max}); raise the limit if it is trusted.`,
    { details: { limit, value, max } },
  );
}

/**
 * What a failed swap throws: `error` itself when every moved entry was put back, otherwise an
 * `INVALID_INPUT` naming the entries that could not be, and the folder that still holds the old ones.
 */
export function swapFailure(error: unknown, aside: string, target: string, stranded: string[]): unknown {
  if (stranded.length === 0) return error;
  return new StrongboxError(
    "INVALID_INPUT",
    `Restoring into "${target}" failed and ${stranded.length} entries could not be put back; the previous contents are in "${aside}".`,
    { cause: error, details: { aside, stranded } },
  );
}

const CORRUPT_ZLIB_CODES = new Set(["Z_DATA_ERROR", "Z_BUF_ERROR", "Z_STREAM_ERROR", "Z_NEED_DICT"]);
const NO_SPACE_CODES = new Set(["ENOSPC", "EDQUOT"]);

/**
 * Turns what zlib or the filesystem threw during an extract into a {@link StrongboxError} a person can act
 * on; other errors pass through unchanged.
 */
export function toExtractError(error: unknown, target: string): unknown {
  if (isStrongboxError(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return error;
  const message = (error as Error).message;
  if (CORRUPT_ZLIB_CODES.has(code)) {
    return new StrongboxError("INVALID_INPUT", `The archive is corrupt or truncated: ${message}.`, {
      cause: error,
      details: { reason: message },
    });
  }
  if (NO_SPACE_CODES.has(code)) {
    return new StrongboxError(
      "INSUFFICIENT_SPACE",
      `There is not enough disk space to extract the archive into "${target}"; the target was left unchanged.`,
      { cause: error, details: { target } },
    );
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new StrongboxError("INVALID_INPUT", `The target "${target}" cannot be written (${code}).`, {
      cause: error,
      details: { target, errno: code },
    });
  }
  return error;
}
