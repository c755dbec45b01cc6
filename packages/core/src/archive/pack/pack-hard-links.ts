import { fstatSync } from "node:fs";

/**
 * The files of a pack that have more than one name, so that the second and later names are archived as
 * hard-link entries to the first, as GNU tar does. Only files with `nlink > 1` are kept, and each only
 * until all its names have been archived, so memory stays bounded by the hard-linked files whose other
 * names the walk has yet to reach.
 */
export class HardLinkIndex {
  /** By {@link hardLinkKey}: the archive path of the first name, and how many names are still to come. */
  private readonly firstNames = new Map<string, { path: string; left: number }>();

  /** The archive path of an earlier name of the file `key` names, or undefined when none was archived. */
  earlierName(key: string): string | undefined {
    const first = this.firstNames.get(key);
    if (first === undefined) return undefined;
    if (--first.left <= 0) this.firstNames.delete(key);
    return first.path;
  }

  /** Notes that the file `key` names, which has `nlink` names, is archived under `path`. */
  remember(key: string, nlink: number, path: string): void {
    this.firstNames.set(key, { path, left: nlink - 1 });
  }
}

/**
 * What identifies the open file `fd` among hard links: device and inode, read as bigints since inode
 * numbers past 2^53 are common on some filesystems (a rounded one could link two different files).
 */
export function hardLinkKey(fd: number): string {
  const stat = fstatSync(fd, { bigint: true });
  return `${stat.dev}:${stat.ino}`;
}
