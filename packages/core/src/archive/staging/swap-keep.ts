import { lstatSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { IgnoreMatcher } from "../../ignore.js";
import { fsPath, listNames } from "../../path-bytes.js";
import { isWorkFolderName } from "./staging-names.js";
import type { SwapFolders, SwapMove, SwapPlan } from "./staging-swap.js";

/**
 * Plans a whole-target truncate that keeps what `keep` matches: every other entry of the target is moved
 * aside and every staged entry moved in, except that a target directory holding kept entries stays and is
 * rebuilt inside (merged) instead of replaced. A kept path the archive also holds is replaced: the archive
 * wins. Symlinks are never descended into.
 */
export function planKeepingSwap(folders: SwapFolders, keep: IgnoreMatcher): SwapPlan {
  const moves: SwapMove[] = [];
  const merged: string[] = [];
  const at = (root: string, path: string): Stats | undefined =>
    lstatSync(fsPath(join(root, path)), { throwIfNoEntry: false });
  const names = (root: string, dir: string): string[] =>
    listNames(join(root, dir)).filter((name) => dir !== "" || !isWorkFolderName(name));
  const child = (dir: string, name: string): string => (dir === "" ? name : `${dir}/${name}`);

  /** Rebuilds the directory `dir`, present in the target; true when it kept anything inside. */
  const rebuild = (dir: string, staged: Stats | undefined): boolean => {
    const stagedNames = new Set(staged?.isDirectory() ? names(folders.staging, dir) : []);
    let kept = false;
    for (const name of names(folders.target, dir)) {
      const path = child(dir, name);
      const existing = at(folders.target, path);
      if (!existing) continue;
      if (!stagedNames.has(name) && keep.ignores(path, existing.isDirectory())) kept = true;
      else if (replace(path, existing)) kept = true;
    }
    for (const name of stagedNames) {
      if (!at(folders.target, child(dir, name))) moves.push({ kind: "in", path: child(dir, name) });
    }
    return kept;
  };

  /** Replaces `path` with its staged version, keeping what is kept below it; true when it kept anything. */
  const replace = (path: string, existing: Stats): boolean => {
    const staged = at(folders.staging, path);
    if (existing.isDirectory() && (!staged || staged.isDirectory())) {
      const movesBefore = moves.length;
      const mergedBefore = merged.length;
      if (rebuild(path, staged)) {
        if (staged) merged.push(path);
        return true;
      }
      // Nothing kept inside: replace it whole, as a plain truncate would.
      moves.length = movesBefore;
      merged.length = mergedBefore;
    }
    moves.push({ kind: "aside", path });
    if (staged) moves.push({ kind: "in", path });
    return false;
  };

  rebuild("", at(folders.staging, ""));
  return { moves, merged: new Set(merged) };
}
