import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { IgnoreMatcher } from "../../ignore.js";
import { listNames, renamePath } from "../../path-bytes.js";
import { swapFailure } from "../extract/extract-errors.js";
import type { RestoreMode } from "../types.js";
import { isWorkFolderName } from "./staging-names.js";
import { planKeepingSwap } from "./swap-keep.js";
import { mergeSwap, type Rename } from "./swap-merge.js";

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
 * Swaps the staged entries into the target and returns the target directories merged into (whose own
 * metadata stays unless the archive lists them). `truncate` without a selection replaces the target's
 * whole contents (keeping what `keep` matches); `truncate` with one replaces each selected path whole;
 * otherwise directories present on both sides are merged and any other entry is replaced. If a move
 * fails, the moves made are undone and the target is as it was.
 */
export function swapIn(
  folders: SwapFolders,
  mode: RestoreMode,
  selection: ReadonlySet<string> | undefined,
  keep?: IgnoreMatcher,
  rename: Rename = renamePath,
): ReadonlySet<string> {
  if (mode === "truncate" && selection === undefined) {
    const plan = keep ? planKeepingSwap(folders, keep) : planTruncate(folders);
    executeSwap(folders, plan, rename);
    return plan.merged;
  }
  return mergeSwap(folders, mode === "truncate" ? selection : undefined, rename);
}

/**
 * The moves of a whole `truncate`, decided before anything changes: every entry of the target aside,
 * then every staged entry in. Only top-level entries move, so the plan stays small.
 */
export function planTruncate(folders: SwapFolders): SwapPlan {
  const plan: SwapPlan = { moves: [], merged: new Set() };
  for (const name of listNames(folders.target)) {
    if (!isWorkFolderName(name)) plan.moves.push({ kind: "aside", path: name });
  }
  for (const name of listNames(folders.staging)) {
    if (!isWorkFolderName(name)) plan.moves.push({ kind: "in", path: name });
  }
  return plan;
}

/**
 * Makes the moves of a plan; if one fails, undoes the ones made, newest first, so the target is as it
 * was. Entries moved aside stay in the aside folder for the caller to delete once it is done.
 */
export function executeSwap(folders: SwapFolders, plan: SwapPlan, rename: Rename = renamePath): void {
  const done: number[] = [];
  let asideMade = false;
  try {
    plan.moves.forEach((move, index) => {
      if (move.kind === "aside" && !asideMade) {
        mkdirSync(folders.aside, 0o700);
        asideMade = true;
      }
      const [from, to] = paths(folders, move, index);
      rename(from, to);
      done.push(index);
    });
  } catch (error) {
    throw swapFailure(error, folders.aside, folders.target, undo(folders, plan, done, rename));
  }
}

function undo(folders: SwapFolders, plan: SwapPlan, done: number[], rename: Rename): string[] {
  const stranded: string[] = [];
  for (const index of done.reverse()) {
    const move = plan.moves[index];
    if (!move) continue;
    const [from, to] = paths(folders, move, index);
    try {
      rename(to, from);
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
