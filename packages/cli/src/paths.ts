import { stat } from "node:fs/promises";
import { StrongboxError } from "@strongbox/core";

/**
 * Checks that `path` is an existing folder; `what` names it in the error (`The folder to pack`).
 * @throws StrongboxError `NOT_FOUND` when missing, `INVALID_INPUT` when it is not a folder.
 */
export async function requireDirectory(path: string, what: string): Promise<void> {
  const stats = await statOrUndefined(path);
  if (stats === undefined) throw new StrongboxError("NOT_FOUND", `${what} "${path}" does not exist.`);
  if (!stats.isDirectory()) throw new StrongboxError("INVALID_INPUT", `${what} "${path}" is not a folder.`);
}

/**
 * Checks that `path` is an existing regular file and returns its size.
 * @throws StrongboxError `NOT_FOUND` when missing, `INVALID_INPUT` when it is not a file.
 */
export async function requireFile(path: string, what: string): Promise<number> {
  const stats = await statOrUndefined(path);
  if (stats === undefined) throw new StrongboxError("NOT_FOUND", `${what} "${path}" does not exist.`);
  if (!stats.isFile()) throw new StrongboxError("INVALID_INPUT", `${what} "${path}" is not a file.`);
  return stats.size;
}

/** `fs.stat`, with `undefined` for a path that does not exist. */
export async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
