import type { Dirent } from "node:fs";
import { lstat, opendir } from "node:fs/promises";
import { join } from "node:path";
import { throwIfAborted } from "../errors.js";
import { createIgnoreMatcher } from "../ignore.js";

/** What a backup of a folder would read. */
export interface TreeSize {
  /** Bytes of regular file content. */
  bytes: number;
  /** Regular files. */
  files: number;
}

/** Files whose size is asked at once: enough to keep the thread pool busy, few enough to stay small. */
const STATS_IN_FLIGHT = 32;

/**
 * Adds up the regular files under `root` that `ignoreRules` leave in, without descending into ignored
 * folders or following symlinks, as a pack would read them. Memory stays bounded: one open directory
 * per level of depth and at most a batch of names at a time. Entries that vanish meanwhile are skipped.
 */
export async function measureTree(
  root: string,
  ignoreRules: string | readonly string[],
  signal?: AbortSignal,
): Promise<TreeSize> {
  const matcher = createIgnoreMatcher(ignoreRules);
  const total: TreeSize = { bytes: 0, files: 0 };
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    const sizes = await Promise.all(batch.map((path) => fileSize(join(root, path))));
    for (const size of sizes) {
      if (size === undefined) continue;
      total.bytes += size;
      total.files++;
    }
    batch = [];
  };
  const visit = async (relative: string): Promise<void> => {
    const dir = await opendir(join(root, relative)).catch(skipUnreadable);
    if (!dir) return;
    for await (const entry of dir) {
      throwIfAborted(signal, "Measuring the backup");
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      const kind = await kindOf(entry, join(root, path));
      if (kind === "other" || matcher.ignores(path, kind === "directory")) continue;
      if (kind === "directory") await visit(path);
      else {
        batch.push(path);
        if (batch.length >= STATS_IN_FLIGHT) await flush();
      }
    }
  };
  await visit("");
  await flush();
  return total;
}

/** Some filesystems leave the type out of directory entries; `lstat` then tells. */
async function kindOf(entry: Dirent, path: string): Promise<"file" | "directory" | "other"> {
  if (entry.isFile()) return "file";
  if (entry.isDirectory()) return "directory";
  if (entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket()) return "other";
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return "other";
  const stats = await lstat(path).catch(skipUnreadable);
  if (stats?.isFile()) return "file";
  return stats?.isDirectory() ? "directory" : "other";
}

async function fileSize(path: string): Promise<number | undefined> {
  const stats = await lstat(path).catch(skipUnreadable);
  return stats?.isFile() ? stats.size : undefined;
}

/**
 * A path that vanished (or a folder that became a file) between listing and reading counts as absent, and
 * so does one that cannot be read: pack skips it too, with a warning.
 */
const SKIPPED_CODES = new Set(["ENOENT", "ENOTDIR", "EACCES", "EPERM"]);

function skipUnreadable(error: NodeJS.ErrnoException): undefined {
  if (SKIPPED_CODES.has(error.code ?? "")) return undefined;
  throw error;
}
