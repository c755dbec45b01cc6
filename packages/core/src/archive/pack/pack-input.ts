import { lstat, readFile } from "node:fs/promises";
import * as path from "node:path";
import { StrongboxError } from "../../errors.js";
import { createIgnoreMatcher } from "../../ignore.js";
import { decodePath, fsPath } from "../../path-bytes.js";
import type { PackOptions } from "../types.js";
import type { PackWorkerInput } from "./pack-worker-client.js";

/** The ignore file read from the root unless `ignoreFile` says otherwise (as Wings does). */
export const DEFAULT_IGNORE_FILE = ".pteroignore";

/** An ignore file larger than this is surely not one; refusing it keeps memory bounded. */
const MAX_IGNORE_FILE_BYTES = 1024 * 1024;

/**
 * Checks what `pack` was asked to do, before any work starts: the root is a real directory (not a
 * symlink), the level and ignore file name are sane, and `options.ignore` is a string or strings (any
 * line is a valid rule, as in git). The root's ignore file comes first and `options.ignore` after it, so
 * the caller's own rules win a conflict (the last matching rule decides).
 *
 * @throws StrongboxError `NOT_FOUND` when the root does not exist, `INVALID_INPUT` for anything else.
 */
export async function resolvePackInput(
  root: string,
  options: PackOptions,
  exclude: readonly string[],
): Promise<PackWorkerInput> {
  if (typeof root !== "string" || root === "") {
    throw new StrongboxError("INVALID_INPUT", "Give the path of the folder to pack.");
  }
  const level = options.level ?? 1;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The compression level must be a whole number from 0 to 9, not ${level}.`,
      {
        details: { level },
      },
    );
  }
  const absolute = path.resolve(root);
  await assertDirectory(absolute);
  const ignoreFile = options.ignoreFile ?? DEFAULT_IGNORE_FILE;
  const fileRules = ignoreFile === false ? "" : await readIgnoreFile(absolute, ignoreFile);
  const optionRules = options.ignore ?? [];
  // Refuses anything but a string or strings, before any work.
  createIgnoreMatcher(optionRules);
  const ignoreRules = `${fileRules}\n${typeof optionRules === "string" ? optionRules : optionRules.join("\n")}`;
  return {
    root: absolute,
    ignoreRules,
    exclude: exclude.map((file) => path.resolve(file)),
    level,
  };
}

async function assertDirectory(absolute: string): Promise<void> {
  const stat = await lstat(fsPath(absolute)).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === "ENOENT" || cause.code === "ENOTDIR") {
      throw new StrongboxError("NOT_FOUND", `There is no folder to pack at ${absolute}.`, {
        cause,
        details: { root: absolute },
      });
    }
    throw new StrongboxError(
      "INVALID_INPUT",
      `Cannot read the folder to pack, ${absolute} (${cause.code}).`,
      {
        cause,
        details: { root: absolute },
      },
    );
  });
  if (stat.isSymbolicLink()) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `${absolute} is a symlink; pack the folder it points to instead, so nothing is archived through a link.`,
      { details: { root: absolute } },
    );
  }
  if (!stat.isDirectory()) {
    throw new StrongboxError("INVALID_INPUT", `${absolute} is not a folder; only folders can be packed.`, {
      details: { root: absolute },
    });
  }
}

/**
 * The rules of `root/name`, or "" when there is no such regular file (a symlink is not followed). Read as
 * bytes and decoded like names are, so a rule can name a file whose name is not UTF-8.
 */
async function readIgnoreFile(root: string, name: string): Promise<string> {
  if (name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The ignore file must be a plain file name in the folder, not "${name}".`,
      {
        details: { ignoreFile: name },
      },
    );
  }
  const file = path.join(root, name);
  const stat = await lstat(fsPath(file)).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === "ENOENT") return undefined;
    throw cause;
  });
  if (stat === undefined || !stat.isFile()) return "";
  if (stat.size > MAX_IGNORE_FILE_BYTES) {
    throw new StrongboxError("INVALID_INPUT", `The ignore file ${file} is larger than 1 MiB; shorten it.`, {
      details: { ignoreFile: file, size: stat.size },
    });
  }
  // Read as bytes, so that a rule naming a file that is not UTF-8 matches that name byte for byte (as git).
  return decodePath(await readFile(fsPath(file)));
}
