import { type Dirent, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { StrongboxError } from "../errors.js";
import type { IgnoreMatcher } from "../ignore.js";
import { unsafeEntry } from "./extract-errors.js";
import { isWorkFolderName } from "./staging-names.js";
import { planKeepingSwap } from "./swap-keep.js";
import type { RestoreMode } from "./types.js";

/** Where a swap happens: three sibling folders, the staging and aside ones inside the target. */
export interface SwapFolders {
  target: string;
  staging: string;
  aside: string;
}

/** One rename of a swap: an old entry moved aside, or a staged entry moved into the target. */
export interface SwapMove {
  kind: "aside" | "in";
  /** Normalized path relative to the target. */
  path: string;
}

/** The moves a swap makes, and the target directories it merges into instead of replacing. */
export interface SwapPlan {
  moves: SwapMove[];
  merged: Set<string>;
}

/**
 * Decides every move before anything changes, by comparing the staged tree with the target as the kernel
 * lists it. `truncate` without a selection replaces the target's whole contents; `truncate` with one
 * replaces each selected path whole; otherwise directories present on both sides are merged and any
 * other entry is replaced. With `keep`, a `truncate` without selection keeps the entries it matches.
 * Throws `UNSAFE_ARCHIVE_ENTRY` when the archive wants a directory where the
 * target holds a symlink, since merging would then write through it.
 */
export function planSwap(
  folders: SwapFolders,
  mode: RestoreMode,
  selection: Set<string> | undefined,
  keep?: IgnoreMatcher,
): SwapPlan {
  const plan: SwapPlan = { moves: [], merged: new Set() };
  if (mode === "truncate" && selection === undefined && keep) return planKeepingSwap(folders, keep);
  if (mode === "truncate" && selection === undefined) {
    for (const name of readdirSync(folders.target)) {
      if (!isWorkFolderName(name)) plan.moves.push({ kind: "aside", path: name });
    }
    for (const name of readdirSync(folders.staging)) plan.moves.push({ kind: "in", path: name });
    return plan;
  }
  const replaceWhole = mode === "truncate" ? selection : undefined;
  const visit = (dir: string): void => {
    const present = listByName(join(folders.target, dir));
    for (const staged of readdirSync(join(folders.staging, dir), { withFileTypes: true })) {
      const path = dir === "" ? staged.name : `${dir}/${staged.name}`;
      const existing = present.get(byteKey(staged.name));
      if (existing && staged.isDirectory() && !replaceWhole?.has(path)) {
        if (existing.isDirectory()) {
          plan.merged.add(path);
          visit(path);
          continue;
        }
        if (existing.isSymbolicLink()) {
          throw unsafeEntry(path, "would be written through a symbolic link that stands in the target");
        }
      }
      if (existing) plan.moves.push({ kind: "aside", path });
      plan.moves.push({ kind: "in", path });
    }
  };
  visit("");
  return plan;
}

/**
 * The entries of a target directory by name, with their type as the kernel reports it: one listing per
 * directory instead of an `lstat` per entry (a merge over 100k files made 100k Stats objects). Names are
 * keyed by their bytes, so a name that is not valid UTF-8 can never pass for a staged one.
 */
function listByName(directory: string): Map<string, Dirent<Buffer>> {
  const entries = readdirSync(directory, { withFileTypes: true, encoding: "buffer" });
  return new Map(entries.map((entry) => [entry.name.toString("latin1"), entry]));
}

function byteKey(name: string): string {
  return Buffer.from(name, "utf8").toString("latin1");
}

/**
 * Makes the moves of a plan; if one fails, undoes the ones made, newest first, so the target is as it
 * was. Entries moved aside stay in the aside folder for the caller to delete once it is done.
 */
export function executeSwap(folders: SwapFolders, plan: SwapPlan): void {
  const done: number[] = [];
  let asideMade = false;
  try {
    plan.moves.forEach((move, index) => {
      if (move.kind === "aside" && !asideMade) {
        mkdirSync(folders.aside, 0o700);
        asideMade = true;
      }
      const [from, to] = paths(folders, move, index);
      renameSync(from, to);
      done.push(index);
    });
  } catch (error) {
    const stranded = undo(folders, plan, done);
    if (stranded.length === 0) throw error;
    throw new StrongboxError(
      "INVALID_INPUT",
      `Restoring into "${folders.target}" failed and ${stranded.length} entries could not be put back; the previous contents are in "${folders.aside}".`,
      { cause: error, details: { aside: folders.aside, stranded } },
    );
  }
}

function undo(folders: SwapFolders, plan: SwapPlan, done: number[]): string[] {
  const stranded: string[] = [];
  for (const index of done.reverse()) {
    const move = plan.moves[index];
    if (!move) continue;
    const [from, to] = paths(folders, move, index);
    try {
      renameSync(to, from);
    } catch {
      stranded.push(move.path);
    }
  }
  return stranded;
}

/** Entries set aside are numbered by move, so two with the same name in different folders never clash. */
function paths(folders: SwapFolders, move: SwapMove, index: number): [from: string, to: string] {
  const inTarget = join(folders.target, move.path);
  return move.kind === "aside"
    ? [inTarget, join(folders.aside, String(index))]
    : [join(folders.staging, move.path), inTarget];
}
