import type { StatsFs } from "node:fs";
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { StrongboxError } from "../errors.js";

/** `1.5 GiB`, `300 MiB`, `12 KiB`, `512 B`: sizes as people read them. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `statfs` of `path`, or of its nearest existing parent when `path` does not exist yet. */
export async function statfsNearest(path: string): Promise<StatsFs> {
  let at = path;
  for (;;) {
    try {
      return await statfs(at);
    } catch (error) {
      const parent = dirname(at);
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || parent === at) throw error;
      at = parent;
    }
  }
}

/** Bytes an unprivileged writer may still use on the volume holding `path` (or its nearest existing parent). */
export async function freeSpace(path: string): Promise<number> {
  const s = await statfsNearest(path);
  return s.bavail * s.bsize;
}

/** Bytes in use on the whole volume holding `path`: an upper bound of what any folder on it holds. */
export async function usedSpace(path: string): Promise<number> {
  const s = await statfs(path);
  return (s.blocks - s.bfree) * s.bsize;
}

/**
 * Throws `INSUFFICIENT_SPACE` when the volume holding `path` has less than `needed` bytes free, with a
 * message that says how much `what` needs and how much is free.
 */
export async function ensureSpace(path: string, needed: number, what: string): Promise<void> {
  const free = await freeSpace(path);
  if (free < needed) throw insufficientSpace(what, `the volume of ${path}`, needed, free, { path });
}

/**
 * The `INSUFFICIENT_SPACE` error for `what`, which needs about `needed` bytes on `where` (words such as
 * `the volume of /srv`) that has `free` bytes free: both figures in the message and in `details`.
 */
export function insufficientSpace(
  what: string,
  where: string,
  needed: number,
  free: number,
  details: Record<string, unknown> = {},
): StrongboxError {
  return new StrongboxError(
    "INSUFFICIENT_SPACE",
    `Not enough disk space for ${what}: it needs about ${formatBytes(needed)} on ${where}, ` +
      `which has ${formatBytes(free)} free. Free up ${formatBytes(needed - free)} or use another disk.`,
    { details: { ...details, needed, free } },
  );
}
