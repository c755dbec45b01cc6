import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  futimesSync,
  lstatSync,
  openSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import { fsPath, listNames } from "../../path-bytes.js";
import { fsTime } from "./fs-time.js";
import { isWorkFolderName } from "./staging-names.js";

/**
 * Deletes a file or folder tree without ever following a symlink (a link is removed, not its target).
 * Read-only folders are made writable first when the plain removal is refused.
 */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM") throw error;
    makeFoldersWritable(path);
    rmSync(path, { recursive: true, force: true });
  }
}

function makeFoldersWritable(path: string): void {
  const stats = lstatSync(fsPath(path), { throwIfNoEntry: false });
  if (!stats?.isDirectory()) return;
  chmodSync(fsPath(path), 0o700);
  for (const name of listNames(path)) makeFoldersWritable(join(path, name));
}

/** Removes staging and aside folders that an interrupted extract left in `target`. */
export function removeLeftoverWorkFolders(target: string): void {
  for (const name of listNames(target)) if (isWorkFolderName(name)) removeTree(join(target, name));
}

/** Mode and mtime to give a directory once its contents are in place. */
export interface DirectoryMetadata {
  mode: number;
  /** Seconds since the epoch; `undefined` keeps the current time. */
  mtime: number | undefined;
}

/**
 * Sets a directory's mode and mtime through a descriptor opened with `O_NOFOLLOW | O_DIRECTORY`, so a
 * symlink standing at `path` is never followed to some folder elsewhere.
 */
export function setDirectoryMetadata(path: string, metadata: DirectoryMetadata): void {
  const fd = openSync(fsPath(path), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isDirectory()) return;
    fchmodSync(fd, metadata.mode);
    if (metadata.mtime !== undefined) futimesSync(fd, fsTime(metadata.mtime), fsTime(metadata.mtime));
  } finally {
    closeSync(fd);
  }
}
