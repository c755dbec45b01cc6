import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { isMissing } from "./safe-paths.js";

/** A regular file met by {@link walkFiles}. */
export interface WalkedFile {
  /** Its name relative to the walk's start, `/`-separated: the storage key for objects. */
  key: string;
  path: string;
  name: string;
}

/**
 * Every regular file under `folder`, in key order, never following symbolic links. A folder `d` sorts
 * as `d/` so the order equals plain string order of the resulting keys (`a.txt` before `a/x`).
 */
export async function* walkFiles(folder: string, keyPrefix = ""): AsyncGenerator<WalkedFile> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    // A folder removed while walking simply has nothing left to list.
    if (isMissing(error)) return;
    throw error;
  }
  const sorted = entries
    .filter((entry) => entry.isDirectory() || entry.isFile())
    .map((entry) => ({ entry, sortKey: entry.isDirectory() ? `${entry.name}/` : entry.name }))
    .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  for (const { entry } of sorted) {
    const path = join(folder, entry.name);
    const key = keyPrefix + entry.name;
    if (entry.isDirectory()) yield* walkFiles(path, `${key}/`);
    else yield { key, path, name: entry.name };
  }
}
