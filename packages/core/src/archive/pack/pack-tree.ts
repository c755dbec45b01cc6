import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, type Stats } from "node:fs";
import type { IgnoreMatcher } from "../../ignore.js";
import { decodePath, fsPath } from "../../path-bytes.js";
import { encodeTarHeader, type TarEntryHeader } from "../tar/tar-header.js";
import { type BlockSink, TarBlockWriter } from "../tar/tar-writer.js";
import type { ArchiveWarning, ArchiveWarningCode } from "../types.js";
import { HardLinkIndex, hardLinkKey } from "./pack-hard-links.js";
import type { PackCounters, PackTreeStats } from "./pack-worker-protocol.js";
import { walkTree } from "./walk.js";

/**
 * O_NOFOLLOW: a file swapped for a symlink after the listing is never followed. O_NONBLOCK: one swapped
 * for a fifo cannot hang the open (it has no effect on regular files).
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Options of {@link packTree}. */
export interface PackTreeOptions {
  ignore: IgnoreMatcher;
  /** Absolute paths left out (the archive being written). */
  exclude: ReadonlySet<string>;
  /** A block to fill (a multiple of 512 bytes, owned until it is handed to `onBlock`). */
  allocateBlock(): Buffer;
  /** Sample file contents to mark the ones that look incompressible. */
  findIncompressible: boolean;
  /**
   * Receives each filled tar block (owning its whole ArrayBuffer), the ranges of it that look
   * incompressible (see {@link BlockSink}) and the counters at that point.
   */
  onBlock(block: Buffer, length: number, incompressible: Uint32Array, counters: PackCounters): void;
  onWarning(warning: ArchiveWarning): void;
  /** Throws to stop packing. */
  checkCancelled(): void;
}

/**
 * Writes the tar stream of `root` synchronously (this runs in the pack worker). Type, size and mode of
 * a file come from `fstat` on the open descriptor, so what the header says is what gets read; a file
 * that changes, vanishes or cannot be read costs a warning, never the archive. A file with several
 * names is archived once, under the first name the walk meets; the others become hard-link entries.
 *
 * @throws when `root` cannot be listed, or whatever `checkCancelled` throws.
 */
export function packTree(root: string, options: PackTreeOptions): PackTreeStats {
  const stats: PackTreeStats = { files: 0, directories: 0, symlinks: 0, sourceBytes: 0, skipped: 0 };
  const counters = (): PackCounters => ({
    entries: stats.files + stats.directories + stats.symlinks,
    sourceBytes: stats.sourceBytes,
  });
  const writer = new TarBlockWriter(
    options.allocateBlock,
    (block, length, incompressible) => options.onBlock(block, length, incompressible, counters()),
    (bytes) => {
      stats.sourceBytes += bytes;
    },
    options.checkCancelled,
    options.findIncompressible,
  );
  const hardLinks = new HardLinkIndex();
  const warn = (code: ArchiveWarningCode, path: string, message: string, skipped: boolean): void => {
    if (skipped) stats.skipped++;
    options.onWarning({ code, path, message });
  };

  walkTree(
    root,
    { ignore: options.ignore, exclude: options.exclude, checkCancelled: options.checkCancelled },
    {
      directory(absolute, relative) {
        const stat = lstatEntry(absolute, relative, warn);
        if (stat === undefined) return false;
        if (!stat.isDirectory()) {
          warn("FILE_CHANGED", relative, `Skipped "${relative}": it stopped being a directory.`, true);
          return false;
        }
        writer.write(encodeTarHeader(headerOf(`${relative}/`, "directory", stat)));
        stats.directories++;
        return true;
      },
      file(absolute, relative) {
        if (packFile(writer, hardLinks, absolute, relative, warn)) stats.files++;
      },
      symlink(absolute, relative) {
        if (packSymlink(writer, absolute, relative, warn)) stats.symlinks++;
      },
      special(relative, kind) {
        warn("SPECIAL_FILE_SKIPPED", relative, `Skipped "${relative}": it is ${kind}.`, true);
      },
      problem(code, relative, message) {
        warn(code, relative, message, true);
      },
    },
  );
  writer.finish();
  return stats;
}

type Warn = (code: ArchiveWarningCode, path: string, message: string, skipped: boolean) => void;

function headerOf(path: string, type: TarEntryHeader["type"], stat: Stats, size = 0): TarEntryHeader {
  return {
    path,
    type,
    mode: stat.mode & 0o7777,
    uid: stat.uid,
    gid: stat.gid,
    size,
    mtime: Math.floor(stat.mtimeMs / 1000),
  };
}

/** Archives one regular file, or a hard link to an earlier name of it; false when it was skipped. */
function packFile(
  writer: TarBlockWriter,
  hardLinks: HardLinkIndex,
  absolute: string,
  relative: string,
  warn: Warn,
): boolean {
  let fd: number;
  try {
    fd = openSync(fsPath(absolute), OPEN_FLAGS);
  } catch (cause) {
    warnOpenFailure(cause, relative, warn);
    return false;
  }
  try {
    const before = fstatSync(fd);
    if (!before.isFile()) {
      warn("FILE_CHANGED", relative, `Skipped "${relative}": it stopped being a regular file.`, true);
      return false;
    }
    const linkKey = before.nlink > 1 ? hardLinkKey(fd) : undefined;
    const earlier = linkKey === undefined ? undefined : hardLinks.earlierName(linkKey);
    if (earlier !== undefined) {
      // No data follows a hard-link entry, so nothing read here can disagree with its header.
      writer.write(encodeTarHeader({ ...headerOf(relative, "hardlink", before), linkTarget: earlier }));
      return true;
    }
    writer.write(encodeTarHeader(headerOf(relative, "file", before, before.size)));
    // From here the entry is in the archive whatever its reading brings, so later names can link to it.
    if (linkKey !== undefined) hardLinks.remember(linkKey, before.nlink, relative);
    const { read, error } = writer.writeFileData(fd, before.size);
    if (error !== undefined) {
      const message = `Reading "${relative}" failed after ${read} of ${before.size} bytes (${error.code ?? error.message}); the rest was archived as zeros.`;
      warn("UNREADABLE", relative, message, false);
    } else if (read < before.size) {
      const message = `"${relative}" shrank while it was read (${read} of ${before.size} bytes); the rest was archived as zeros.`;
      warn("FILE_CHANGED", relative, message, false);
    } else if (changedSince(before, fstatSync(fd))) {
      const message = `"${relative}" changed while it was read; its first ${before.size} bytes were archived as read.`;
      warn("FILE_CHANGED", relative, message, false);
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

function changedSince(before: Stats, after: Stats): boolean {
  return after.size !== before.size || after.mtimeMs !== before.mtimeMs;
}

function warnOpenFailure(cause: unknown, relative: string, warn: Warn): void {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    warn("FILE_VANISHED", relative, `"${relative}" vanished before it could be archived.`, true);
  } else if (code === "ELOOP") {
    warn("FILE_CHANGED", relative, `Skipped "${relative}": it was replaced by a symlink.`, true);
  } else {
    warn(
      "UNREADABLE",
      relative,
      `Could not open "${relative}" (${code ?? String(cause)}); it was skipped.`,
      true,
    );
  }
}

/** Archives one symlink with its target verbatim, never following it; false when it was skipped. */
function packSymlink(writer: TarBlockWriter, absolute: string, relative: string, warn: Warn): boolean {
  const stat = lstatEntry(absolute, relative, warn);
  if (stat === undefined) return false;
  let target: Buffer;
  try {
    target = readlinkSync(fsPath(absolute), { encoding: "buffer" });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      warn("FILE_VANISHED", relative, `"${relative}" vanished before it could be archived.`, true);
    else warn("FILE_CHANGED", relative, `Skipped "${relative}": it stopped being a symlink.`, true);
    return false;
  }
  writer.write(encodeTarHeader({ ...headerOf(relative, "symlink", stat), linkTarget: decodePath(target) }));
  return true;
}

/** lstat that turns a vanished path into a warning (undefined) instead of an error. */
function lstatEntry(absolute: string, relative: string, warn: Warn): Stats | undefined {
  try {
    return lstatSync(fsPath(absolute));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      warn("FILE_VANISHED", relative, `"${relative}" vanished before it could be archived.`, true);
    } else {
      warn(
        "UNREADABLE",
        relative,
        `Could not read "${relative}" (${code ?? String(cause)}); it was skipped.`,
        true,
      );
    }
    return undefined;
  }
}
