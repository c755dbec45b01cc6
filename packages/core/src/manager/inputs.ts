import { StrongboxError } from "../errors.js";
import { parseIgnoreRules } from "../ignore.js";

/** Longest backup name accepted (the panel's database column). */
export const MAX_NAME_LENGTH = 191;
/** Backups per page unless asked otherwise. */
export const DEFAULT_PER_PAGE = 20;
/** Most backups per page; larger requests are lowered to it, as the panel does. */
export const MAX_PER_PAGE = 50;

/** The name to record: trimmed, or `Backup at YYYY-MM-DD HH:MM:SS` (UTC) when empty, as the panel names them. */
export function backupName(name: unknown, now: Date): string {
  if (name !== undefined && typeof name !== "string")
    throw invalid("A backup name must be a string.", { name });
  const trimmed = name?.trim() ?? "";
  if (trimmed.length > MAX_NAME_LENGTH) {
    throw invalid(`A backup name may be at most ${MAX_NAME_LENGTH} characters long.`, {
      length: trimmed.length,
    });
  }
  return trimmed || `Backup at ${now.toISOString().slice(0, 19).replace("T", " ")}`;
}

/**
 * The rule lines to record as `ignored_files`, after checking they are a string or strings (else
 * `INVALID_INPUT`). Any line is a rule, as in git: one that cannot match matches nothing.
 */
export function ignoredFiles(ignored: string | readonly string[] | undefined): string[] {
  if (ignored === undefined) return [];
  const lines = typeof ignored === "string" ? [ignored] : ignored;
  if (!Array.isArray(lines) || !lines.every((line) => typeof line === "string")) {
    throw invalid("Ignored files must be a string of patterns, one a line, or an array of patterns.", {});
  }
  return parseIgnoreRules(ignored);
}

/** Checks the page options of a listing and applies the defaults and the per-page cap. */
export function pageOptions(options: { page?: number; perPage?: number }): { page: number; perPage: number } {
  const page = options.page ?? 1;
  const perPage = options.perPage ?? DEFAULT_PER_PAGE;
  if (!Number.isInteger(page) || page < 1)
    throw invalid("The page must be a whole number of 1 or more.", { page });
  if (!Number.isInteger(perPage) || perPage < 1) {
    throw invalid("The number of backups per page must be a whole number of 1 or more.", { perPage });
  }
  return { page, perPage: Math.min(perPage, MAX_PER_PAGE) };
}

/** Checks restore options: `truncate` (and `keepIgnored`, if given) must be booleans and `only` a list of paths. */
export function restoreInputs(
  options: { truncate?: unknown; only?: unknown; keepIgnored?: unknown } | undefined,
): void {
  if (typeof options?.truncate !== "boolean") {
    throw invalid("Say whether the restore truncates the server folder (truncate: true or false).", {});
  }
  if (options.keepIgnored !== undefined && typeof options.keepIgnored !== "boolean") {
    throw invalid("Say whether the restore keeps ignored files (keepIgnored: true or false).", {});
  }
  const only = options.only;
  if (only !== undefined && !(Array.isArray(only) && only.every((path) => typeof path === "string"))) {
    throw invalid("The paths to restore must be a list of strings.", {});
  }
}

function invalid(message: string, details: Record<string, unknown>): StrongboxError {
  return new StrongboxError("INVALID_INPUT", message, { details });
}
