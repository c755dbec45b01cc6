import { StrongboxError } from "./errors.js";

/**
 * Decides which paths a pack leaves out, with gitignore semantics.
 *
 * Like git, a path inside an ignored directory stays ignored whatever `!pattern` says about it: the
 * walker never descends into ignored directories, so there is nothing left to re-include.
 */
export interface IgnoreMatcher {
  /**
   * True when `relativePath` (`/`-separated, relative to the root, no leading `/`) is ignored, either
   * by a rule matching it or because one of its parent directories is ignored.
   */
  ignores(relativePath: string, isDirectory: boolean): boolean;
}

/** One rule, compiled once. */
interface CompiledRule {
  regex: RegExp;
  /** `!pattern`: a match re-includes the path. */
  negate: boolean;
  /** `pattern/`: matches directories only. */
  directoryOnly: boolean;
}

/**
 * Characters with a meaning in a RegExp, escaped when a pattern uses them literally. Unicode mode
 * rejects needless escapes, and accepts `\-` only inside a class.
 */
const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/;

/**
 * The rule lines of `rules` as the matcher sees them: `\r` and unescaped trailing spaces removed,
 * blank lines and `#` comments dropped. Callers record this list (a backup's `ignored_files`).
 *
 * @param rules - A newline-separated string or an array of lines (an element may itself hold newlines).
 */
export function parseIgnoreRules(rules: string | readonly string[]): string[] {
  const lines = (typeof rules === "string" ? [rules] : rules).flatMap((text) => text.split("\n"));
  return lines.map(trimLine).filter((line) => line !== "" && !line.startsWith("#"));
}

/**
 * Compiles gitignore-style rules into a matcher: `*.log` matches at any depth, `cache/` only
 * directories, a leading or middle `/` anchors to the root, `**` spans directories, `!pattern`
 * re-includes, `?`, `[a-z]` and `[!a-z]` match one character, `\` escapes. Matching is case-sensitive.
 *
 * @example
 * ```ts
 * const matcher = createIgnoreMatcher("*.log\ncache/\n!keep.log");
 * matcher.ignores("logs/server.log", false); // true
 * matcher.ignores("keep.log", false); // false
 * ```
 * @throws StrongboxError `INVALID_INPUT` when a pattern cannot be compiled (e.g. a range `[z-a]`).
 */
export function createIgnoreMatcher(rules: string | readonly string[]): IgnoreMatcher {
  const compiled = parseIgnoreRules(rules).flatMap((line) => {
    const rule = compileRule(line);
    return rule === undefined ? [] : [rule];
  });
  // Callers ask about siblings in a row, so remembering the last parent avoids re-testing its ancestry.
  let lastParent: { path: string; ignored: boolean } | undefined;

  const parentIgnored = (directory: string): boolean => {
    if (directory === "") return false;
    if (lastParent?.path === directory) return lastParent.ignored;
    const ignored = parentIgnored(dirname(directory)) || lastMatchIgnores(compiled, directory, true);
    lastParent = { path: directory, ignored };
    return ignored;
  };

  return {
    ignores(relativePath, isDirectory) {
      const path = relativePath.replace(/\/+$/, "");
      if (compiled.length === 0 || path === "") return false;
      return parentIgnored(dirname(path)) || lastMatchIgnores(compiled, path, isDirectory);
    },
  };
}

/** The last rule that matches decides, as in git. */
function lastMatchIgnores(rules: readonly CompiledRule[], path: string, isDirectory: boolean): boolean {
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    if (rule.directoryOnly && !isDirectory) continue;
    if (rule.regex.test(path)) return !rule.negate;
  }
  return false;
}

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

/** Drops `\r` and trailing spaces, except a space escaped by an odd run of backslashes. */
function trimLine(line: string): string {
  const text = line.replace(/\r/g, "");
  let end = text.length;
  while (end > 0 && text[end - 1] === " ") {
    let backslashes = 0;
    while (end - 2 - backslashes >= 0 && text[end - 2 - backslashes] === "\\") backslashes++;
    if (backslashes % 2 === 1) break;
    end--;
  }
  return text.slice(0, end);
}

function compileRule(line: string): CompiledRule | undefined {
  const negate = line.startsWith("!");
  let body = negate ? line.slice(1) : line;
  const directoryOnly = body.endsWith("/");
  if (directoryOnly) body = body.slice(0, -1);
  // git: a separator at the start or in the middle ties the pattern to the root.
  const anchored = body.includes("/");
  if (body.startsWith("/")) body = body.slice(1);
  if (body === "") return undefined;
  const source = (anchored ? "" : "(?:.*/)?") + globToRegex(body);
  try {
    return { regex: new RegExp(`^${source}$`, "u"), negate, directoryOnly };
  } catch (error) {
    throw new StrongboxError("INVALID_INPUT", `The ignore rule "${line}" is not a valid pattern.`, {
      cause: error,
      details: { rule: line },
    });
  }
}

/** Translates a pattern's path segments; a whole `**` segment spans any number of directories. */
function globToRegex(body: string): string {
  const segments = body.split("/");
  let source = "";
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment !== "**") source += segmentToRegex(segment) + (last ? "" : "/");
    else if (!last) source += "(?:.*/)?";
    else source += index === 0 ? ".*" : ".+";
  });
  return source;
}

/** One path segment: `*` and `?` never cross a `/`. */
function segmentToRegex(segment: string): string {
  let source = "";
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i]!;
    if (char === "\\" && i + 1 < segment.length) {
      source += escapeRegex(segment[++i]!);
    } else if (char === "*") {
      while (segment[i + 1] === "*") i++;
      source += "[^/]*";
    } else if (char === "?") {
      source += "[^/]";
    } else if (char === "[") {
      const end = classEnd(segment, i);
      if (end === -1) source += "\\[";
      else {
        source += classToRegex(segment.slice(i + 1, end));
        i = end;
      }
    } else {
      source += escapeRegex(char);
    }
  }
  return source;
}

/** Index of the `]` closing the class opened at `start`, or -1 (then `[` is literal, as in git). */
function classEnd(segment: string, start: number): number {
  let i = start + 1;
  if (segment[i] === "!" || segment[i] === "^") i++;
  if (segment[i] === "]") i++;
  for (; i < segment.length; i++) {
    if (segment[i] === "\\") i++;
    else if (segment[i] === "]") return i;
  }
  return -1;
}

/** `[a-z]`, `[!a-z]`/`[^a-z]`; a negated class never matches `/`. */
function classToRegex(content: string): string {
  const negate = content.startsWith("!") || content.startsWith("^");
  const body = negate ? content.slice(1) : content;
  let source = "";
  for (let i = 0; i < body.length; i++) {
    const char = body[i]!;
    if (char === "\\" && i + 1 < body.length) source += escapeClassChar(body[++i]!);
    else if (char === "-" && i > 0 && i < body.length - 1) source += "-";
    else source += escapeClassChar(char);
  }
  return negate ? `[^/${source}]` : `[${source}]`;
}

function escapeRegex(char: string): string {
  return REGEX_SYNTAX.test(char) ? `\\${char}` : char;
}

function escapeClassChar(char: string): string {
  return char === "-" ? "\\-" : escapeRegex(char);
}
