import { type Dirent, readdirSync } from "node:fs";
import type { IgnoreMatcher } from "../../ignore.js";
import { decodePath, fsPath } from "../../path-bytes.js";
import type { ArchiveWarningCode } from "../types.js";

/**
 * What the walk finds, one call per path, parents before children, siblings sorted by name bytes. Paths
 * are decoded with `decodePath`: give them to `fs` through `fsPath`.
 */
export interface WalkVisitor {
  /** A directory; return false to leave its contents out (it vanished or changed type). */
  directory(absolute: string, relative: string): boolean;
  file(absolute: string, relative: string): void;
  symlink(absolute: string, relative: string): void;
  /** A fifo, socket or device: never opened. */
  special(relative: string, kind: string): void;
  /** A path the walk itself could not handle (a folder it could not list). */
  problem(code: ArchiveWarningCode, relative: string, message: string): void;
}

/** Options of {@link walkTree}. */
export interface WalkOptions {
  /** Paths it ignores are neither reported nor, for directories, entered. */
  ignore: IgnoreMatcher;
  /** Absolute paths left out silently (the archive being written). */
  exclude: ReadonlySet<string>;
  /** Throws to stop the walk; called once per path. */
  checkCancelled(): void;
}

interface Frame {
  absolute: string;
  relative: string;
  entries: Dirent<Buffer>[];
  next: number;
}

/**
 * Walks `root` depth-first with synchronous calls (it runs in the pack worker), without following
 * symlinks. Names are read as bytes and decoded losslessly, so one that is not valid UTF-8 is archived
 * like any other (and ignore rules see it decoded). An explicit stack keeps deep trees off the call stack.
 *
 * @throws the listing error when `root` itself cannot be listed.
 */
export function walkTree(root: string, options: WalkOptions, visitor: WalkVisitor): void {
  createTreeWalk(root, options, visitor).step(Number.POSITIVE_INFINITY);
}

/** A walk taken a few entries at a time (see {@link createTreeWalk}). */
export interface TreeWalk {
  /** Reports up to `budget` more entries to the visitor; false once the walk is over. */
  step(budget: number): boolean;
}

/**
 * The walk of {@link walkTree} in steps, so a caller on the event loop can do asynchronous work (and let
 * other work run) between them: what a step reports is what the caller's queue holds, so memory stays
 * bounded whatever the tree.
 *
 * @throws the listing error when `root` itself cannot be listed.
 */
export function createTreeWalk(root: string, options: WalkOptions, visitor: WalkVisitor): TreeWalk {
  const stack: Frame[] = [{ absolute: root, relative: "", entries: listSorted(root), next: 0 }];
  return {
    step(budget) {
      let reported = 0;
      while (stack.length > 0 && reported < budget) {
        const frame = stack[stack.length - 1]!;
        const dirent = frame.entries[frame.next++];
        if (dirent === undefined) {
          stack.pop();
          continue;
        }
        options.checkCancelled();
        reported++;
        const child = visitEntry(frame, dirent, options, visitor);
        if (child !== undefined) stack.push(child);
      }
      return stack.length > 0;
    },
  };
}

/** Reports one entry; returns the frame to enter when it is a directory to walk. */
function visitEntry(
  frame: Frame,
  dirent: Dirent<Buffer>,
  options: WalkOptions,
  visitor: WalkVisitor,
): Frame | undefined {
  // Decoded byte-exact (path-bytes.ts), so ignore rules can name it, and a warning too.
  const name = decodePath(dirent.name);
  const relative = frame.relative === "" ? name : `${frame.relative}/${name}`;
  const absolute = frame.absolute.endsWith("/") ? frame.absolute + name : `${frame.absolute}/${name}`;
  const isDirectory = dirent.isDirectory();
  if (options.exclude.has(absolute) || options.ignore.ignores(relative, isDirectory)) return undefined;
  if (isDirectory) return enterDirectory(absolute, relative, visitor);
  if (dirent.isFile()) visitor.file(absolute, relative);
  else if (dirent.isSymbolicLink()) visitor.symlink(absolute, relative);
  else visitor.special(relative, specialKind(dirent));
  return undefined;
}

function enterDirectory(absolute: string, relative: string, visitor: WalkVisitor): Frame | undefined {
  if (!visitor.directory(absolute, relative)) return undefined;
  try {
    return { absolute, relative, entries: listSorted(absolute), next: 0 };
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      visitor.problem("FILE_VANISHED", relative, `"${relative}/" vanished while it was being archived.`);
    } else {
      visitor.problem(
        "UNREADABLE",
        relative,
        `Could not list "${relative}/" (${code ?? String(cause)}); it was archived without its contents.`,
      );
    }
    return undefined;
  }
}

/** Sorting by name bytes makes archives of the same tree identical whatever order readdir returns. */
function listSorted(directory: string): Dirent<Buffer>[] {
  const entries = readdirSync(fsPath(directory), { withFileTypes: true, encoding: "buffer" });
  return entries.sort((a, b) => Buffer.compare(a.name, b.name));
}

function specialKind(dirent: Dirent<Buffer>): string {
  if (dirent.isFIFO()) return "a named pipe";
  if (dirent.isSocket()) return "a socket";
  if (dirent.isCharacterDevice()) return "a character device";
  if (dirent.isBlockDevice()) return "a block device";
  return "not a regular file";
}
