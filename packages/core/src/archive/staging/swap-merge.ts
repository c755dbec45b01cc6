import { type Dirent, mkdirSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { decodePath, fsPath } from "../../path-bytes.js";
import { swapFailure, unsafeEntry } from "../extract/extract-errors.js";
import { isWorkFolderName, STAGING_PREFIX } from "./staging-names.js";
import type { SwapFolders } from "./staging-swap.js";
import { type JournalRecord, SwapJournal } from "./swap-journal.js";

/** Renames `from` to `to`, decoded paths (injectable, so tests can make a move fail). */
export type Rename = (from: string, to: string) => void;

/**
 * Entries set aside per folder of the aside folder: one flat folder of 100k entries would make removing
 * it list all their names at once.
 */
const ASIDE_BUCKET_SIZE = 1024;

/** What the walk sees for one staged entry. */
interface StagedEntry {
  path: string;
  /** The entry standing at the same path in the target, if any. */
  existing: Dirent<Buffer> | undefined;
  /** Both sides are directories, to be merged instead of replaced. */
  merge: boolean;
}

/**
 * Moves the staged tree into the target, merging directories present on both sides (except the paths in
 * `replaceWhole`, a truncate's selection) and replacing every other entry the archive holds. Returns the
 * directories merged into.
 *
 * A first walk only checks, so an entry that would be written through a symlink standing in the target
 * fails with `UNSAFE_ARCHIVE_ENTRY` before anything moves. The second walk moves one directory at a
 * time and notes each move in a journal file, so memory stays flat whatever the size of the tree; if a
 * move fails, the journal is replayed to put every moved entry back, and the target is as it was.
 */
export function mergeSwap(
  folders: SwapFolders,
  replaceWhole: ReadonlySet<string> | undefined,
  rename: Rename,
): Set<string> {
  walkStaged(folders, replaceWhole, () => {});
  const merged = new Set<string>();
  const journal = new SwapJournal(join(folders.staging, `${STAGING_PREFIX}journal`));
  /** Entries set aside so far, each as `<bucket>/<number>` in the aside folder. */
  let setAside = 0;
  const moveAside = (inTarget: string): string => {
    const bucket = String(Math.floor(setAside / ASIDE_BUCKET_SIZE));
    if (setAside === 0) mkdirSync(folders.aside, 0o700);
    if (setAside % ASIDE_BUCKET_SIZE === 0) mkdirSync(join(folders.aside, bucket), 0o700);
    const aside = `${bucket}/${setAside++}`;
    rename(inTarget, join(folders.aside, aside));
    return aside;
  };
  /** The entry being moved, until its record is in the journal. */
  let current: JournalRecord | undefined;
  try {
    walkStaged(folders, replaceWhole, (entry) => {
      if (entry.merge) {
        merged.add(entry.path);
        return;
      }
      const inTarget = join(folders.target, entry.path);
      current = { path: entry.path, aside: undefined };
      if (entry.existing) current.aside = moveAside(inTarget);
      rename(join(folders.staging, entry.path), inTarget);
      // Journaled from here on, even if writing the journal fails.
      const moved = current;
      current = undefined;
      journal.record(moved);
    });
  } catch (error) {
    const stranded = undoMerge(folders, journal, current, rename);
    journal.dispose();
    removeEmptyBuckets(folders.aside, setAside);
    throw swapFailure(error, folders.aside, folders.target, stranded);
  }
  journal.dispose();
  return merged;
}

/**
 * Walks the staged tree against the target, depth first, calling `visit` for each staged entry that is
 * merged (before its contents) or moved. Throws `UNSAFE_ARCHIVE_ENTRY` where the archive wants a
 * directory and the target holds a symlink, since merging would then write through it.
 */
function walkStaged(
  folders: SwapFolders,
  replaceWhole: ReadonlySet<string> | undefined,
  visit: (entry: StagedEntry) => void,
): void {
  const walk = (dir: string): void => {
    const present = listByName(join(folders.target, dir));
    for (const staged of listEntries(join(folders.staging, dir))) {
      const name = decodePath(staged.name);
      if (dir === "" && isWorkFolderName(name)) continue;
      const path = dir === "" ? name : `${dir}/${name}`;
      const existing = present.get(name);
      if (existing && staged.isDirectory() && !replaceWhole?.has(path)) {
        if (existing.isDirectory()) {
          visit({ path, existing, merge: true });
          walk(path);
          continue;
        }
        if (existing.isSymbolicLink()) {
          throw unsafeEntry(path, "would be written through a symbolic link that stands in the target");
        }
      }
      visit({ path, existing, merge: false });
    }
  };
  walk("");
}

/** Puts back what the journal (and the entry being moved when it failed) says; returns what could not be. */
function undoMerge(
  folders: SwapFolders,
  journal: SwapJournal,
  current: JournalRecord | undefined,
  rename: Rename,
): string[] {
  const stranded: string[] = [];
  const putBack = (record: JournalRecord, movedIn: boolean): void => {
    const inTarget = join(folders.target, record.path);
    try {
      if (movedIn) rename(inTarget, join(folders.staging, record.path));
      if (record.aside !== undefined) rename(join(folders.aside, record.aside), inTarget);
    } catch {
      stranded.push(record.path);
    }
  };
  for (const record of journal.replay()) putBack(record, true);
  // It failed moving in, after the old entry (if any) was set aside.
  if (current) putBack(current, false);
  return stranded;
}

/** Removes the aside folder's buckets that undoing emptied, so the caller finds it empty. */
function removeEmptyBuckets(aside: string, setAside: number): void {
  for (let bucket = 0; bucket * ASIDE_BUCKET_SIZE < setAside; bucket++) {
    try {
      rmdirSync(join(aside, String(bucket)));
    } catch {
      // It still holds an entry that could not be put back.
    }
  }
}

/**
 * The entries of a target directory by decoded name (one per byte string, see `path-bytes.ts`), with their
 * type as the kernel reports it: one listing per directory instead of an `lstat` per entry.
 */
function listByName(directory: string): Map<string, Dirent<Buffer>> {
  return new Map(listEntries(directory).map((entry) => [decodePath(entry.name), entry]));
}

function listEntries(directory: string): Dirent<Buffer>[] {
  return readdirSync(fsPath(directory), { withFileTypes: true, encoding: "buffer" });
}
