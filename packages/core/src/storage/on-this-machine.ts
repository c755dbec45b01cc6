import type { StorageAdapter } from "./types.js";

/**
 * Whether `storage` keeps its objects on this machine's disks: core's rule is that an adapter reporting
 * `freeSpace` does (the local adapter) and any other sends them away (S3). Archives into it count against
 * the `write` rate limit rather than `upload`; a repository reads its packs in smaller pieces from it.
 */
export function storesOnThisMachine(storage: StorageAdapter): boolean {
  return storage.freeSpace !== undefined;
}
