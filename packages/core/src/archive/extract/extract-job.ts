import { createHash } from "node:crypto";
import { mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { abortError, StrongboxError } from "../../errors.js";
import { createIgnoreMatcher } from "../../ignore.js";
import { type SwapFolders, swapIn } from "../staging/staging-swap.js";
import {
  type DirectoryMetadata,
  removeLeftoverWorkFolders,
  removeTree,
  setDirectoryMetadata,
} from "../staging/staging-tree.js";
import { type StagedDirectory, StagingWriter } from "../staging/staging-writer.js";
import { TarParser } from "../tar/tar-parse.js";
import type { ArchiveWarning, ExtractCounts, Progress, RestoreMode } from "../types.js";
import { toExtractError } from "./extract-errors.js";
import { inflateArchive, plainArchive } from "./extract-inflate.js";
import type { ResolvedLimits } from "./extract-limits.js";
import { depthOf } from "./safe-path.js";

/** Everything an extract job needs; plain data, so it can cross into a worker thread. */
export interface ExtractJobParams {
  /** Real, absolute path of an existing target folder. */
  target: string;
  /** Names (not paths) of this job's staging and aside folders inside the target. */
  stagingName: string;
  asideName: string;
  mode: RestoreMode;
  /** `none`: the input is a plain tar (see `ExtractOptions.compression`). */
  compression: "gzip" | "none";
  /** Normalized `only` paths, or `undefined` for everything. */
  selection: string[] | undefined;
  limits: ResolvedLimits;
  expectedChecksum: string | undefined;
  /** False: the archive bytes are not hashed, and the result has no checksum. */
  hashArchive: boolean;
  totalBytes: number | undefined;
  /** Ignore rules of target entries a whole `truncate` keeps (see `ExtractOptions.keep`). */
  keep?: string | undefined;
  /** Whether `hooks.throttle` is given (the worker then asks the main thread before writing). */
  throttled?: boolean;
}

/** Callbacks of an extract job. */
export interface ExtractJobHooks {
  signal: AbortSignal;
  onProgress?: (progress: Progress) => void;
  onWarning?: (warning: ArchiveWarning) => void;
  /** Called, in order, once the bytes of each input chunk have been read (their memory may be reused). */
  onInputConsumed?: (bytes: number) => void;
  /** Awaited before each slice of inflated bytes is written, to hold the write rate. */
  throttle?: (bytes: number) => Promise<void>;
}

/** Mode given to directories the archive implies (`a/` of `a/b.txt`) without listing them. */
const IMPLIED_DIRECTORY_MODE = 0o755;
const PROGRESS_INTERVAL_MS = 100;

/** What an extract job gives back: its counts, and the archive's checksum unless it was not hashed. */
export type ExtractOutcome = ExtractCounts & { checksum?: string };

/**
 * Extracts a tar.gz byte stream into `params.target`: stages everything in a private folder inside the
 * target, verifies the archive's checksum, then swaps the staged entries in. The target is unchanged if
 * anything fails before the swap, and put back if the swap itself fails. Uses synchronous filesystem
 * calls: run it in a worker thread.
 */
export async function runExtractJob(
  input: AsyncIterable<Uint8Array>,
  params: ExtractJobParams,
  hooks: ExtractJobHooks,
): Promise<ExtractOutcome> {
  const folders: SwapFolders = {
    target: params.target,
    staging: join(params.target, params.stagingName),
    aside: join(params.target, params.asideName),
  };
  const selection = params.selection ? new Set(params.selection) : undefined;
  const writer = new StagingWriter({
    staging: folders.staging,
    selection,
    limits: params.limits,
    onWarning: hooks.onWarning,
  });
  try {
    removeLeftoverWorkFolders(params.target);
    mkdirSync(folders.staging, 0o700);
    const checksum = await stage(input, writer, params, hooks);
    if (params.expectedChecksum !== undefined && params.expectedChecksum !== checksum) {
      throw new StrongboxError(
        "CHECKSUM_MISMATCH",
        "The archive does not match its expected checksum; it was not restored and the target is unchanged.",
        { details: { expected: params.expectedChecksum, actual: checksum } },
      );
    }
    writer.finish();
    requireSelectionMatched(selection, writer.matched);
    if (hooks.signal.aborted) throw abortError(hooks.signal, "The extract");
    const keep = params.keep === undefined ? undefined : createIgnoreMatcher(params.keep);
    const merged = swapIn(folders, params.mode, selection, keep);
    applyDirectoryMetadata(folders.target, writer.directories, merged);
    removeTree(folders.aside);
    removeTree(folders.staging);
    return { ...(checksum === undefined ? {} : { checksum }), ...writer.counts };
  } catch (error) {
    writer.dispose();
    removeTree(folders.staging);
    removeIfEmpty(folders.aside);
    throw hooks.signal.aborted
      ? abortError(hooks.signal, "The extract")
      : toExtractError(error, params.target);
  }
}

/**
 * Streams the archive into the staging folder; returns the `sha256:` checksum of the archive bytes, unless
 * `params.hashArchive` is false.
 */
async function stage(
  input: AsyncIterable<Uint8Array>,
  writer: StagingWriter,
  params: ExtractJobParams,
  hooks: ExtractJobHooks,
): Promise<string | undefined> {
  const hash = params.hashArchive ? createHash("sha256") : undefined;
  const parser = new TarParser(writer, { maxSparseRuns: params.limits.maxSparseRuns });
  let archiveBytes = 0;
  let lastReport = 0;
  const report = (): void => {
    lastReport = Date.now();
    hooks.onProgress?.({ bytes: archiveBytes, files: writer.counts.files, totalBytes: params.totalBytes });
  };
  const inflated = (params.compression === "none" ? plainArchive : inflateArchive)(input, {
    signal: hooks.signal,
    onConsumed: hooks.onInputConsumed,
    onCompressed(chunk) {
      hash?.update(chunk);
      archiveBytes += chunk.length;
    },
  });
  for await (const chunk of inflated) {
    if (hooks.throttle) await hooks.throttle(chunk.length);
    parser.push(chunk);
    if (Date.now() - lastReport >= PROGRESS_INTERVAL_MS) report();
  }
  parser.end();
  report();
  return hash && `sha256:${hash.digest("hex")}`;
}

function requireSelectionMatched(selection: Set<string> | undefined, matched: Set<string>): void {
  const missing = [...(selection ?? [])].filter((path) => !matched.has(path));
  if (missing.length === 0) return;
  throw new StrongboxError(
    "NOT_FOUND",
    `The archive holds nothing at ${missing.map((p) => `"${p}"`).join(", ")}; nothing was restored.`,
    { details: { paths: missing } },
  );
}

/**
 * Gives directories their archive mode and mtime once everything is in place, deepest first, so a
 * read-only directory never blocks writing into it and adding children never bumps a restored mtime.
 * Directories that were merged into keep their own metadata unless the archive lists them.
 */
function applyDirectoryMetadata(
  target: string,
  directories: Map<string, StagedDirectory>,
  merged: ReadonlySet<string>,
): void {
  const byDepth = [...directories.keys()].sort((a, b) => depthOf(b) - depthOf(a));
  for (const path of byDepth) {
    const staged = directories.get(path);
    if (!staged) continue;
    let metadata: DirectoryMetadata | undefined;
    if (staged.mode !== undefined) metadata = { mode: staged.mode, mtime: staged.mtime };
    else if (!merged.has(path)) metadata = { mode: IMPLIED_DIRECTORY_MODE, mtime: undefined };
    if (metadata) setDirectoryMetadata(join(target, path), metadata);
  }
}

function removeIfEmpty(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // Missing, or it still holds old entries a failed rollback could not put back: keep those.
  }
}
