import { StrongboxError } from "../errors.js";
import type { DownloadUrlOptions } from "./types.js";

/** How long a download URL stays valid when the caller does not say: 15 minutes. */
export const DEFAULT_DOWNLOAD_EXPIRY_SECONDS = 900;

/** Longest validity a download URL may have: 7 days (the most S3 presigning allows). */
export const MAX_DOWNLOAD_EXPIRY_SECONDS = 7 * 24 * 3600;

const FILENAME_FORBIDDEN = /[\u0000-\u001f\u007f/\\]/;

/**
 * Checks {@link DownloadUrlOptions}: `expiresIn` a whole number of seconds from 1 to 7 days; `filename`
 * 1-255 characters without control characters or path separators (it ends up in a response header).
 * Throws `INVALID_INPUT`.
 */
export function validateDownloadOptions(options: DownloadUrlOptions | undefined): void {
  const expiresIn = options?.expiresIn;
  if (
    expiresIn !== undefined &&
    (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_DOWNLOAD_EXPIRY_SECONDS)
  ) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `A download URL must expire after 1 to ${MAX_DOWNLOAD_EXPIRY_SECONDS} whole seconds.`,
      { details: { expiresIn } },
    );
  }
  const filename = options?.filename;
  if (
    filename !== undefined &&
    (filename === "" || filename.length > 255 || FILENAME_FORBIDDEN.test(filename))
  ) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "A download file name must be 1 to 255 characters with no control characters, / or \\.",
      { details: { filename } },
    );
  }
}
