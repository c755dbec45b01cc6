import type { Readable } from "node:stream";
import type { RateLimiter } from "../io/rate-limit.js";
import type { ArchiveWorkers } from "./archive-workers.js";

/** Counters reported while an archive is packed, extracted, uploaded or copied. */
export interface Progress {
  /** Bytes processed so far (source bytes for pack, archive bytes read for extract and transfers). */
  bytes: number;
  /** Entries processed so far. */
  files: number;
  /** Total bytes, when known in advance. */
  totalBytes?: number;
}

/**
 * Why a path was skipped or archived with a caveat. `LEADING_SLASH_REMOVED` (extract, once): the archive
 * holds absolute names, which were made relative and extracted inside the target, as GNU tar does.
 */
export type ArchiveWarningCode =
  | "FILE_CHANGED"
  | "FILE_VANISHED"
  | "SPECIAL_FILE_SKIPPED"
  | "INVALID_NAME"
  | "UNREADABLE"
  | "LEADING_SLASH_REMOVED";

/** A non-fatal problem with one path; the operation goes on. */
export interface ArchiveWarning {
  code: ArchiveWarningCode;
  /** The path, relative to the root, `/`-separated; bytes that are not UTF-8 as `decodePath` gives them. */
  path: string;
  /** A sentence for people. */
  message: string;
}

/** Options shared by pack and extract. */
export interface ArchiveOperationOptions {
  /** Stops the operation; it then rejects with code `ABORTED` and leaves nothing that looks complete. */
  signal?: AbortSignal;
  /** Called with running counters (throttled by the caller if it needs to be). */
  onProgress?: (progress: Progress) => void;
  /** Called once per skipped or changed path. */
  onWarning?: (warning: ArchiveWarning) => void;
  /**
   * Threads shared with other operations (see `createArchiveWorkers`); default: threads of this
   * operation's own, ended with it.
   */
  workers?: ArchiveWorkers | undefined;
}

/** Options of `pack`. */
export interface PackOptions extends ArchiveOperationOptions {
  /** gitignore-style rules: a newline-separated string or an array of lines. */
  ignore?: string | readonly string[];
  /**
   * Name of an ignore file in the root whose rules are merged in (default `.pteroignore`); `false` to
   * not read one.
   */
  ignoreFile?: string | false;
  /** gzip level 0-9, default 1. */
  level?: number;
  /** Limiters the tar stream (the bytes read from the source, before compression) passes through. */
  readLimiters?: readonly RateLimiter[];
}

/** What a finished pack produced. */
export interface PackResult {
  /** `sha256:<hex>` of the archive bytes exactly as streamed out. */
  checksum: string;
  /** Size of the archive in bytes. */
  bytes: number;
  /** Regular files archived, hard-link entries (second and later names of a file) included. */
  files: number;
  /** Directories archived. */
  directories: number;
  /** Symbolic links archived. */
  symlinks: number;
  /** Bytes of file content archived (before compression). */
  sourceBytes: number;
  /** Paths skipped (special files, vanished files, bad names). */
  skipped: number;
}

/** A pack in progress: read `stream` (a tar.gz) and await `result` once it ends. */
export interface PackHandle {
  stream: Readable;
  /** Resolves when the stream has ended; rejects if packing failed or was aborted. */
  result: Promise<PackResult>;
}

/** Limits that stop archive bombs during extract. */
export interface ExtractLimits {
  /** Most entries accepted (default 10,000,000). */
  maxEntries?: number;
  /** Most uncompressed bytes of file content accepted (default 1 TiB). */
  maxBytes?: number;
  /** Deepest path accepted, in segments (default 256). */
  maxDepth?: number;
  /**
   * Most data runs in one sparse file's map (default 1,000,000); the map is held while the file's data
   * streams, 16 bytes a run.
   */
  maxSparseRuns?: number;
}

/** `truncate`: the target ends up holding exactly the archive. `merge`: archive entries overwrite, others stay. */
export type RestoreMode = "truncate" | "merge";

/** Options of `extract`. */
export interface ExtractOptions extends ArchiveOperationOptions {
  /** Default `merge`. */
  mode?: RestoreMode;
  /**
   * How the source is compressed: `gzip` (default, a `.tar.gz`; its CRC is checked) or `none` (a plain tar
   * stream, such as a repository snapshot's, which then skips both deflating and inflating). The checksum
   * is of the bytes given, whichever.
   */
  compression?: "gzip" | "none";
  /** `sha256:<hex>` the archive must match; nothing in the target changes unless it does. */
  expectedChecksum?: string;
  /**
   * `false` skips hashing the archive bytes: the result then has no `checksum`, and `expectedChecksum`
   * cannot be given. For a stream whose content is checked already, such as a repository snapshot's (each
   * chunk is checked against its id): hashing took 7% of a restore's CPU time in a profile. Default `true`.
   */
  checksum?: boolean;
  /** Restore only these paths (files, or directories with all they hold). */
  only?: readonly string[];
  limits?: ExtractLimits;
  /** Archive size, if known, for progress. */
  totalBytes?: number;
  /**
   * With `truncate` and no `only`: gitignore-style rules; entries of the target they match (and all under
   * a matched folder) are kept instead of deleted, unless the archive holds the same path. No effect on
   * `merge`, nor on the paths `only` replaces whole.
   */
  keep?: string | readonly string[];
  /** Limiters the restored bytes (uncompressed, as they are written) pass through. */
  writeLimiters?: readonly RateLimiter[];
}

/** What a finished extract wrote, and the archive's checksum. */
export interface ExtractResult extends ExtractCounts {
  /** `sha256:<hex>` of the archive bytes read. */
  checksum: string;
}

/** What a finished extract wrote. */
export interface ExtractCounts {
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file content written. */
  bytes: number;
}

/** One entry of an archive, as `contents` lists it. */
export interface ArchiveEntry {
  /** As stored; bytes that are not UTF-8 are U+DC80–U+DCFF (see `decodePath`), so no name is lost. */
  path: string;
  type: "file" | "directory" | "symlink" | "hardlink" | "other";
  size: number;
  mode: number;
  mtime: Date;
  /** Symlink or hard link target. */
  linkTarget?: string;
  /** sha256 (hex) of a regular file's content, when listed with `hashFiles`. */
  sha256?: string;
}

/** Where an archive is read from: a readable stream or any async iterable of bytes. */
export type ArchiveSource = Readable | AsyncIterable<Uint8Array>;
