import { StrongboxError } from "../../errors.js";
import { unsafeEntry } from "./extract-errors.js";

/**
 * Normalizes an entry path as stored in an archive to a `/`-separated path relative to the target
 * (`./a//b/` becomes `a/b`; the root itself becomes `""`). Refuses, with `UNSAFE_ARCHIVE_ENTRY`, what
 * could point outside the target: absolute paths, `..` segments, NUL bytes and empty names.
 */
export function normalizeEntryPath(raw: string, shownAs: string = raw): string {
  const reason = unsafePathReason(raw);
  if (reason) throw unsafeEntry(shownAs, reason);
  return raw
    .split("/")
    .filter((segment) => segment !== "" && segment !== ".")
    .join("/");
}

/**
 * Normalizes the paths of `ExtractOptions.only` the same way as entry paths, reduced to a set where none
 * lies inside another. `undefined` (or a selection holding the root) means everything.
 */
export function normalizeSelection(only: readonly string[] | undefined): Set<string> | undefined {
  if (only === undefined) return undefined;
  const paths: string[] = [];
  for (const raw of only) {
    const reason = typeof raw === "string" ? unsafePathReason(raw) : "is not a string";
    if (reason) {
      throw new StrongboxError("INVALID_INPUT", `The path "${String(raw)}" to restore ${reason}.`, {
        details: { path: raw },
      });
    }
    paths.push(normalizeEntryPath(raw));
  }
  if (paths.length === 0) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "The list of paths to restore is empty; omit it to restore all.",
    );
  }
  if (paths.includes("")) return undefined;
  const selection = new Set(paths);
  for (const path of paths) if (ancestorsOf(path).some((a) => selection.has(a))) selection.delete(path);
  return selection;
}

/** `name` without the `/`s it starts with (an absolute member name made relative, as GNU tar does). */
export function withoutLeadingSlashes(name: string): string {
  return name.replace(/^\/+/, "");
}

/** True when `path` is one of the selected paths or lies under one. */
export function isSelected(path: string, selection: Set<string> | undefined): boolean {
  if (selection === undefined || selection.has(path)) return true;
  return ancestorsOf(path).some((ancestor) => selection.has(ancestor));
}

/** The proper ancestors of a normalized path, nearest last: `a/b/c` gives `a`, `a/b`. */
export function ancestorsOf(path: string): string[] {
  const result: string[] = [];
  let slash = path.indexOf("/");
  while (slash >= 0) {
    result.push(path.slice(0, slash));
    slash = path.indexOf("/", slash + 1);
  }
  return result;
}

/** The parent of a normalized path (`""` for a top-level one). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** Number of segments of a normalized path. */
export function depthOf(path: string): number {
  let depth = 1;
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) depth++;
  return depth;
}

function unsafePathReason(raw: string): string | undefined {
  if (raw === "") return "has an empty name";
  if (raw.includes("\0")) return "contains a NUL byte";
  if (raw.startsWith("/")) return "is an absolute path";
  if (raw.split("/").includes("..")) return 'contains a ".." segment';
  return undefined;
}
