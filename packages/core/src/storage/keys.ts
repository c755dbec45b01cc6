import { StrongboxError } from "../errors.js";

/** Longest key accepted, in characters (S3's limit is 1024 bytes; keys are ASCII). */
export const MAX_KEY_LENGTH = 1024;

/**
 * Longest segment accepted. Kept under the usual 255-byte file-name limit with room for the temporary
 * names adapters write beside an object while it is stored.
 */
export const MAX_SEGMENT_LENGTH = 200;

const SEGMENT = /^[A-Za-z0-9._@+=-]+$/;

/**
 * Checks a storage key: `/`-separated segments of `A-Z a-z 0-9 . _ - @ + =`, no empty, `.` or `..`
 * segment, no leading or trailing `/`, at most {@link MAX_KEY_LENGTH} characters. Throws `INVALID_INPUT`.
 */
export function validateKey(key: string): string {
  if (typeof key !== "string" || key === "") {
    throw invalid("A storage key must be a non-empty string such as `server/uuid.tar.gz`.", key);
  }
  if (key.startsWith("/") || key.endsWith("/")) {
    throw invalid(`Storage key "${printable(key)}" must not start or end with "/".`, key);
  }
  validateSegments(key, "key");
  return key;
}

/**
 * Checks a listing prefix and returns it in folder form: `""` (everything) or segments ending in `/`.
 * A prefix names a folder, so `a` and `a/` both list `a/...` and never `ab/...`. Throws `INVALID_INPUT`.
 */
export function validatePrefix(prefix: string): string {
  if (prefix === "") return "";
  if (typeof prefix !== "string" || prefix.startsWith("/")) {
    throw invalid(`Storage prefix "${printable(String(prefix))}" must be relative (no leading "/").`, prefix);
  }
  const folder = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  validateSegments(folder, "prefix");
  return `${folder}/`;
}

function validateSegments(value: string, what: "key" | "prefix"): void {
  if (value.length > MAX_KEY_LENGTH) {
    throw invalid(
      `Storage ${what} is ${value.length} characters long; the limit is ${MAX_KEY_LENGTH}.`,
      value,
    );
  }
  for (const segment of value.split("/")) {
    if (segment === "" || segment === "." || segment === "..") {
      throw invalid(
        `Storage ${what} "${printable(value)}" has an empty, "." or ".." segment; use plain names separated by single "/".`,
        value,
      );
    }
    if (segment.length > MAX_SEGMENT_LENGTH) {
      throw invalid(
        `Storage ${what} segment "${printable(segment.slice(0, 40))}..." is longer than ${MAX_SEGMENT_LENGTH} characters.`,
        value,
      );
    }
    if (!SEGMENT.test(segment)) {
      throw invalid(
        `Storage ${what} "${printable(value)}" may only use letters, digits and . _ - @ + = between "/" separators.`,
        value,
      );
    }
  }
}

function invalid(message: string, value: unknown): StrongboxError {
  return new StrongboxError("INVALID_INPUT", message, { details: { key: value } });
}

/** Makes control characters visible so a message never carries raw bytes to a terminal. */
function printable(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  return JSON.stringify(shown).slice(1, -1);
}
