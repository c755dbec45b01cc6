import {
  closeSync,
  constants,
  fchmodSync,
  ftruncateSync,
  futimesSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { StrongboxError } from "../../errors.js";
import { fsPath } from "../../path-bytes.js";
import { limitExceeded, unsafeEntry, unsupportedEntry } from "../extract/extract-errors.js";
import type { ResolvedLimits } from "../extract/extract-limits.js";
import {
  ancestorsOf,
  depthOf,
  isSelected,
  normalizeEntryPath,
  parentOf,
  withoutLeadingSlashes,
} from "../extract/safe-path.js";
import type { TarEntry, TarSink } from "../tar/tar-parse.js";
import type { ArchiveWarning } from "../types.js";
import { fsTime } from "./fs-time.js";
import { isWorkFolderName, STAGING_PREFIX } from "./staging-names.js";

/** A directory written into the staging folder; `mode` is `undefined` when the archive did not list it. */
export interface StagedDirectory {
  mode: number | undefined;
  mtime: number | undefined;
}

/** A symlink of the archive, created last; or a hard link to one (`hardLinkOf` names the symlink). */
interface StagedSymlink {
  target: string;
  mtime: number;
  hardLinkOf: string | undefined;
}

/** Options of {@link StagingWriter}. */
export interface StagingWriterOptions {
  /** Absolute path of the staging folder, freshly created and private to this extract. */
  staging: string;
  /** Normalized `only` paths, or `undefined` for everything. */
  selection: Set<string> | undefined;
  limits: ResolvedLimits;
  onWarning?: (warning: ArchiveWarning) => void;
}

/** Entries and bytes written so far. */
export interface StagingCounts {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
}

// Setuid and setgid are never restored; ownership is never taken from the archive either.
const MODE_MASK = 0o1777;
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Staged folders stay private and writable until the swap; their own modes come last. */
const STAGED_DIRECTORY_MODE = 0o700;

/**
 * Writes tar entries into a private staging folder, refusing any entry that could reach outside it.
 * Nothing here ever writes through a symlink: the archive's symlinks are only created by
 * {@link StagingWriter.finish}, after every file and directory, and an entry whose path runs through one
 * of them is refused; files are created with `O_EXCL | O_NOFOLLOW`; every parent folder is one this writer
 * made itself. Synchronous by design: it runs in a worker thread.
 */
export class StagingWriter implements TarSink {
  /** Every directory staged, by normalized path. */
  readonly directories = new Map<string, StagedDirectory>();
  /** The `only` paths that matched at least one entry. */
  readonly matched = new Set<string>();
  readonly counts: StagingCounts = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  private readonly symlinks = new Map<string, StagedSymlink>();
  /** Whether the leading-`/` warning was given: once per extract, as GNU tar does. */
  private warnedAbsolute = false;
  private readonly options: StagingWriterOptions;
  private entries = 0;
  private declaredBytes = 0;
  private file: { fd: number; mode: number; mtime: number; size: number; end: number } | undefined;
  /**
   * The bits the process umask takes from a new file's mode. A file is created with its archive mode and
   * needs a `fchmod` only when the umask took bits away (or for the sticky bit): one syscall less per file.
   * Read at the first file, when the staging folder exists.
   */
  private umask: number | undefined;

  constructor(options: StagingWriterOptions) {
    this.options = options;
  }

  onEntry(entry: TarEntry): void {
    const path = this.checkEntry(entry);
    if (path === undefined) return;
    switch (entry.kind) {
      case "directory":
        this.writeDirectory(path, entry);
        break;
      case "file":
        this.openFile(path, entry);
        break;
      case "hardlink":
        this.writeHardLink(path, entry);
        break;
      case "symlink":
        this.stageSymlink(path, entry);
        break;
      default:
        // checkEntry has refused every other kind.
        break;
    }
  }

  onData(chunk: Uint8Array, position: number): void {
    const file = this.file;
    if (!file) return;
    let written = 0;
    while (written < chunk.length) {
      written += writeSync(file.fd, chunk, written, chunk.length - written, position + written);
    }
    file.end = position + chunk.length;
    this.counts.bytes += chunk.length;
  }

  onEntryEnd(): void {
    const file = this.file;
    if (!file) return;
    this.file = undefined;
    try {
      // A sparse file ending in a hole: the size makes the hole, without writing it.
      if (file.end < file.size) ftruncateSync(file.fd, file.size);
      this.umask ??= probeUmask(this.options.staging);
      if ((file.mode & (this.umask | 0o7000)) !== 0) fchmodSync(file.fd, file.mode);
      futimesSync(file.fd, fsTime(file.mtime), fsTime(file.mtime));
    } finally {
      closeSync(file.fd);
    }
  }

  /** Creates the archive's symlinks, once nothing else will be written. */
  finish(): void {
    for (const [path, link] of this.symlinks) {
      if (link.hardLinkOf !== undefined) continue;
      const full = this.full(path);
      symlinkSync(fsPath(link.target), full);
      lutimesSync(full, fsTime(link.mtime), fsTime(link.mtime));
    }
    // link(2) does not follow a symlink on Linux: each is a second name for the link itself.
    for (const [path, link] of this.symlinks) {
      if (link.hardLinkOf !== undefined) linkSync(this.full(link.hardLinkOf), this.full(path));
    }
  }

  /** Closes a file left open by a failure. */
  dispose(): void {
    if (this.file) closeSync(this.file.fd);
    this.file = undefined;
  }

  /**
   * Applies limits and path rules to every entry, selected or not (an archive with one hostile entry is
   * refused whole). Returns the normalized path, or `undefined` when the entry is skipped.
   */
  private checkEntry(entry: TarEntry): string | undefined {
    const { limits } = this.options;
    if (++this.entries > limits.maxEntries)
      throw limitExceeded("maxEntries", this.entries, limits.maxEntries);
    this.declaredBytes += entry.size;
    if (this.declaredBytes > limits.maxBytes)
      throw limitExceeded("maxBytes", this.declaredBytes, limits.maxBytes);
    const path = normalizeEntryPath(this.relativeName(entry.path));
    if (path === "") {
      // The archive's root ("./") would describe the target itself, whose metadata stays the embedder's.
      if (entry.kind === "directory") return undefined;
      throw unsafeEntry(entry.path, "names the target folder itself");
    }
    const depth = depthOf(path);
    if (depth > limits.maxDepth) throw limitExceeded("maxDepth", depth, limits.maxDepth);
    if (entry.kind === "device" || entry.kind === "fifo") {
      throw unsafeEntry(
        path,
        `is a ${entry.kind === "fifo" ? "fifo" : "device file"}, which is never created`,
      );
    }
    if (entry.kind === "unsupported") throw unsupportedEntry(path, entry.typeflag);
    const underLink =
      this.symlinks.size > 0 ? ancestorsOf(path).find((a) => this.symlinks.has(a)) : undefined;
    if (underLink !== undefined)
      throw unsafeEntry(path, `lies under "${underLink}", a symbolic link in the archive`);
    if (isWorkFolderName(path.split("/", 1)[0] ?? "")) {
      this.options.onWarning?.({
        code: "INVALID_NAME",
        path,
        message: `"${path}" was skipped: the name is reserved for Strongbox's own staging folders.`,
      });
      return undefined;
    }
    if (!isSelected(path, this.options.selection)) return undefined;
    this.noteMatch(path);
    return path;
  }

  private noteMatch(path: string): void {
    const selection = this.options.selection;
    if (!selection) return;
    if (selection.has(path)) this.matched.add(path);
    for (const ancestor of ancestorsOf(path)) if (selection.has(ancestor)) this.matched.add(ancestor);
  }

  private writeDirectory(path: string, entry: TarEntry): void {
    if (this.symlinks.has(path)) throw replacesOtherType(path);
    this.ensureParents(path);
    const known = this.directories.get(path);
    if (!known) this.makeDirectory(path);
    if (!known || known.mode === undefined) this.counts.directories++;
    this.directories.set(path, { mode: entry.mode & MODE_MASK, mtime: entry.mtime });
  }

  private openFile(path: string, entry: TarEntry): void {
    this.checkReplaceable(path);
    this.ensureParents(path);
    const full = this.full(path);
    const mode = entry.mode & MODE_MASK;
    let fd: number;
    try {
      fd = openSync(full, CREATE_FILE, mode & 0o777);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      this.removeEarlierFile(path);
      fd = openSync(full, CREATE_FILE, mode & 0o777);
    }
    this.file = { fd, mode, mtime: entry.mtime, size: entry.size, end: 0 };
    this.counts.files++;
  }

  /**
   * An entry name without its leading `/`s: GNU tar extracts `tar -P` archives inside the target that
   * way, saying so once ("Removing leading `/' from member names"). `..` segments stay refused.
   */
  private relativeName(name: string): string {
    const relative = withoutLeadingSlashes(name);
    if (relative !== name && !this.warnedAbsolute) {
      this.warnedAbsolute = true;
      this.options.onWarning?.({
        code: "LEADING_SLASH_REMOVED",
        path: relative,
        message: `The archive holds absolute names such as "${name}": the leading "/" was removed and they were extracted inside the target, as GNU tar does.`,
      });
    }
    return relative;
  }

  private writeHardLink(path: string, entry: TarEntry): void {
    let target: string;
    try {
      target = normalizeEntryPath(this.relativeName(entry.linkTarget), path);
    } catch {
      throw unsafeEntry(path, `is a hard link to "${entry.linkTarget}", outside the target`);
    }
    if (target === path) return;
    // Its data came with the name `only` leaves out, so it was never written: refused, not left out.
    if (!isSelected(target, this.options.selection)) {
      throw new StrongboxError(
        "INVALID_INPUT",
        `"${path}" is a hard link to "${target}", which the paths to restore leave out; add "${target}" to them. Nothing was restored.`,
        { details: { path, target } },
      );
    }
    const symlink = this.symlinks.get(target);
    if (symlink) {
      // As GNU tar: a second name for the symlink itself, created with the symlinks.
      this.stageLink(path, { ...symlink, hardLinkOf: symlink.hardLinkOf ?? target });
      return;
    }
    if (this.symlinkOnPath(target) || !this.isStagedFile(target)) {
      throw unsafeEntry(path, `is a hard link to "${target}", which is not a file extracted before it`);
    }
    this.checkReplaceable(path);
    this.ensureParents(path);
    try {
      linkSync(this.full(target), this.full(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      this.removeEarlierFile(path);
      linkSync(this.full(target), this.full(path));
    }
    this.counts.files++;
  }

  private stageSymlink(path: string, entry: TarEntry): void {
    if (entry.linkTarget === "" || entry.linkTarget.includes("\0")) {
      throw unsafeEntry(path, "is a symbolic link with an empty or invalid target");
    }
    this.stageLink(path, { target: entry.linkTarget, mtime: entry.mtime, hardLinkOf: undefined });
  }

  private stageLink(path: string, link: StagedSymlink): void {
    if (this.directories.has(path) || lstatSync(this.full(path), { throwIfNoEntry: false })) {
      throw replacesOtherType(path);
    }
    this.ensureParents(path);
    if (!this.symlinks.has(path)) this.counts.symlinks++;
    this.symlinks.set(path, link);
  }

  /** A later file may replace an earlier file at the same path, never a directory or a symlink. */
  private checkReplaceable(path: string): void {
    if (this.directories.has(path) || this.symlinks.has(path)) throw replacesOtherType(path);
  }

  private removeEarlierFile(path: string): void {
    if (!lstatSync(this.full(path)).isFile()) throw replacesOtherType(path);
    unlinkSync(this.full(path));
    this.counts.files--;
  }

  private isStagedFile(path: string): boolean {
    try {
      return lstatSync(this.full(path)).isFile();
    } catch {
      return false;
    }
  }

  private symlinkOnPath(path: string): boolean {
    return this.symlinks.has(path) || ancestorsOf(path).some((a) => this.symlinks.has(a));
  }

  /** Makes the missing parents of `path`, each one checked to be a directory this writer created. */
  private ensureParents(path: string): void {
    const parent = parentOf(path);
    if (parent === "" || this.directories.has(parent)) return;
    this.ensureParents(parent);
    this.makeDirectory(parent);
    this.directories.set(parent, { mode: undefined, mtime: undefined });
  }

  private makeDirectory(path: string): void {
    try {
      mkdirSync(this.full(path), STAGED_DIRECTORY_MODE);
    } catch (error) {
      // Whatever stands there (an earlier file of the archive) is not a directory this writer made.
      if ((error as NodeJS.ErrnoException).code === "EEXIST") throw replacesOtherType(path);
      throw error;
    }
  }

  /** Where `path` is staged, as `fs` must be given it (bytes when the name is not UTF-8). */
  private full(path: string): string | Buffer {
    return fsPath(join(this.options.staging, path));
  }
}

function replacesOtherType(path: string): StrongboxError {
  return unsafeEntry(path, "replaces an earlier entry of another type");
}

/**
 * Reads the umask once per extract from a folder made with mode 0o777 in the staging folder, under a
 * reserved work-folder name that no archive entry may take (such entries are skipped).
 * `process.umask()` without an argument would tell too, but Node deprecates it (DEP0139): it briefly sets
 * the umask to 0, a race for other threads creating files.
 */
function probeUmask(staging: string): number {
  const probe = join(staging, `${STAGING_PREFIX}umask`);
  mkdirSync(probe, 0o777);
  try {
    return ~lstatSync(probe).mode & 0o777;
  } finally {
    rmdirSync(probe);
  }
}
