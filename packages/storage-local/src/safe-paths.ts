import type { Stats } from "node:fs";
import { lstat, mkdir } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import { StrongboxError } from "@strongbox/core/parts";

/**
 * The folder that holds `segments` under `root`, refusing symbolic links and anything but folders on
 * the way, so a link planted in the storage folder can never lead a read or write outside it.
 * With `create`, missing folders are made; without, a missing or unusable folder gives `undefined`.
 */
export async function folderInside(
  root: string,
  segments: string[],
  create: boolean,
): Promise<string | undefined> {
  let folder = root;
  for (const segment of segments) {
    folder = insideRoot(root, join(folder, segment));
    let stats = await lstatOrUndefined(folder);
    if (!stats && create) {
      await mkdir(folder).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "EEXIST") throw error;
      });
      stats = await lstat(folder);
    }
    if (stats?.isDirectory()) continue;
    if (!create) return undefined;
    throw new StrongboxError(
      "STORAGE_ERROR",
      `Cannot store under "${relative(root, folder)}": it is ${stats?.isSymbolicLink() ? "a symbolic link" : "not a folder"} inside the storage folder.`,
      { details: { root, path: folder } },
    );
  }
  return folder;
}

/** The file path of `key` under `root`, with its folder checked as {@link folderInside} does. */
export async function objectPath(root: string, key: string, create: boolean): Promise<string | undefined> {
  const segments = key.split("/");
  const name = segments.pop() as string;
  const folder = await folderInside(root, segments, create);
  return folder === undefined ? undefined : insideRoot(root, join(folder, name));
}

/** Returns `path` when it lies under `root`; core validates keys, this is the last line of defence. */
export function insideRoot(root: string, path: string): string {
  const rel = relative(root, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "A storage key resolved to a path outside the storage folder.",
      {
        details: { root, path },
      },
    );
  }
  return path;
}

/** `lstat`, or `undefined` when the path (or a folder on its way) does not exist. */
export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** True for the errors that mean "nothing there": ENOENT, and ENOTDIR when a file sits where a folder would. */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
