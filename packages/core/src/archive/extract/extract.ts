import { mkdir, realpath, rm, rmdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { StrongboxError, throwIfAborted } from "../../errors.js";
import { createIgnoreMatcher } from "../../ignore.js";
import type { RateLimiter } from "../../io/rate-limit.js";
import { newWorkFolderNames } from "../staging/staging-names.js";
import type { ArchiveSource, ExtractCounts, ExtractOptions, ExtractResult, RestoreMode } from "../types.js";
import { resolveLimits } from "./extract-limits.js";
import { extractInWorker } from "./extract-worker-client.js";
import { normalizeSelection } from "./safe-path.js";

const CHECKSUM_PATTERN = /^sha256:[0-9a-f]{64}$/;
const MODES: readonly RestoreMode[] = ["merge", "truncate"];

/**
 * Extracts a tar.gz archive into `target` (created if missing; its parent must exist).
 *
 * Everything is first written into a hidden staging folder inside the target and only swapped in once the
 * whole archive was read, its gzip CRC held and its checksum matched `expectedChecksum`: a corrupt
 * archive, a full disk, an abort or a refused entry leave the target as it was. `merge` (default)
 * overwrites the archive's entries and keeps the others; `truncate` leaves the target holding exactly the
 * archive. With `only`, just those paths are restored, and `truncate` replaces only those paths.
 *
 * Never writes outside the target, whatever the archive says: `..`, entries through a symlink (from the
 * archive or standing in the target), hard links to anything but a file or symlink extracted before
 * them, devices and fifos are refused with `UNSAFE_ARCHIVE_ENTRY`; absolute names lose their leading `/`
 * and land inside the target (one `LEADING_SLASH_REMOVED` warning), as GNU tar does; setuid/setgid bits
 * are dropped and ownership is never taken from the archive. Sparse files keep their holes. Going past `limits` fails with `INVALID_INPUT`, corrupt
 * data too. The writes run in a worker thread, so the caller's event loop stays free.
 *
 * @example
 * ```ts
 * const result = await extract(createReadStream("backup.tar.gz"), "/srv/servers/42", {
 *   mode: "truncate",
 *   expectedChecksum: record.checksum,
 * });
 * ```
 */
export function extract(
  source: ArchiveSource,
  target: string,
  options: ExtractOptions & { checksum: false },
): Promise<ExtractCounts>;
export function extract(
  source: ArchiveSource,
  target: string,
  options?: ExtractOptions & { checksum?: true },
): Promise<ExtractResult>;
/** With `checksum` known only at run time: the result has the checksum unless it was `false`. */
export function extract(
  source: ArchiveSource,
  target: string,
  options: ExtractOptions,
): Promise<ExtractCounts & { checksum?: string }>;
export async function extract(
  source: ArchiveSource,
  target: string,
  options: ExtractOptions = {},
): Promise<ExtractCounts & { checksum?: string }> {
  const mode = options.mode ?? "merge";
  if (!MODES.includes(mode)) {
    throw new StrongboxError("INVALID_INPUT", `The restore mode must be "merge" or "truncate".`, {
      details: { mode },
    });
  }
  if (options.expectedChecksum !== undefined && !CHECKSUM_PATTERN.test(options.expectedChecksum)) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "The expected checksum must look like sha256:<64 hex digits>.",
      {
        details: { expectedChecksum: options.expectedChecksum },
      },
    );
  }
  if (options.checksum === false && options.expectedChecksum !== undefined) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "An extract that skips the checksum cannot check an expected one: give one option or the other.",
    );
  }
  if (
    source === null ||
    typeof (source as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== "function"
  ) {
    throw new StrongboxError("INVALID_INPUT", "The archive to extract must be a readable stream of bytes.");
  }
  const compression = options.compression ?? "gzip";
  if (compression !== "gzip" && compression !== "none") {
    throw new StrongboxError("INVALID_INPUT", `The archive's compression must be "gzip" or "none".`, {
      details: { compression },
    });
  }
  const selection = normalizeSelection(options.only);
  const keep = keepRules(options.keep);
  const limits = resolveLimits(options.limits);
  throwIfAborted(options.signal, "The extract");
  const folder = await prepareTarget(target);
  const names = newWorkFolderNames();
  const throttle = writeThrottle(options.writeLimiters, options.signal);
  try {
    return await extractInWorker(
      source,
      {
        target: folder.path,
        stagingName: names.staging,
        asideName: names.aside,
        mode,
        compression,
        selection: selection && [...selection],
        limits,
        expectedChecksum: options.expectedChecksum,
        hashArchive: options.checksum !== false,
        totalBytes: options.totalBytes,
        keep,
        throttled: throttle !== undefined,
      },
      { ...options, throttle },
    );
  } catch (error) {
    // The job removes its staging folder itself; this covers a worker that died before it could.
    await rm(join(folder.path, names.staging), { recursive: true, force: true }).catch(() => {});
    if (folder.created) await rmdir(folder.path).catch(() => {});
    throw error;
  }
}

/** The `keep` rules as one string for the worker, checked here so bad rules fail before any work. */
function keepRules(keep: ExtractOptions["keep"]): string | undefined {
  if (keep === undefined) return undefined;
  createIgnoreMatcher(keep);
  return typeof keep === "string" ? keep : keep.join("\n");
}

/** Takes every inflated slice from each limiter in turn; `undefined` (no cost at all) without limiters. */
function writeThrottle(
  limiters: readonly RateLimiter[] | undefined,
  signal: AbortSignal | undefined,
): ((bytes: number) => Promise<void>) | undefined {
  if (!limiters?.length) return undefined;
  return async (bytes) => {
    for (const limiter of limiters) await limiter.take(bytes, signal);
  };
}

/** Resolves the target to its real path, creating it (not its parents) when missing. */
async function prepareTarget(target: string): Promise<{ path: string; created: boolean }> {
  if (typeof target !== "string" || target === "" || target.includes("\0")) {
    throw new StrongboxError("INVALID_INPUT", "The folder to extract into must be a non-empty path.");
  }
  const path = resolve(target);
  const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (stats && !stats.isDirectory()) {
    throw new StrongboxError("INVALID_INPUT", `The target "${path}" exists and is not a folder.`, {
      details: { target: path },
    });
  }
  if (stats) return { path: await realpath(path), created: false };
  try {
    await mkdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new StrongboxError(
      "NOT_FOUND",
      `The folder that should hold the target "${path}" does not exist.`,
      {
        details: { target: path },
      },
    );
  }
  return { path: await realpath(path), created: true };
}
