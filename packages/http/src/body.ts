import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors.js";

const MAX_BODY_BYTES = 64 * 1024;
// The panel's database column.
const MAX_NAME_LENGTH = 191;

/**
 * Reads a JSON object body (an empty body is `{}`); 400 for anything else, 413 past 64 KiB. On a 413 the
 * rest of the body is left unread, not destroyed, so that the answer still reaches the client (see `respond`).
 */
export async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(request)).toString("utf8").trim();
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "BadRequestHttpException", "The request body is not valid JSON.");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "BadRequestHttpException", "The request body must be a JSON object.");
  }
  return value as Record<string, unknown>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      request.off("data", onData).off("end", onEnd).off("error", onError);
      request.pause();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size <= MAX_BODY_BYTES) return;
      stop();
      reject(new HttpError(413, "PayloadTooLargeHttpException", "The request body is larger than 64 KiB."));
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    request.on("data", onData).on("end", onEnd).on("error", onError);
  });
}

function invalid(field: string, rule: string): HttpError {
  return new HttpError(422, "ValidationException", `The ${field} field ${rule}.`);
}

/** What `POST .../backups` accepts; unknown fields are ignored. */
export interface CreateBody {
  name?: string;
  locked: boolean;
  /** gitignore-style rules, as sent: a newline-separated string or an array of lines. */
  ignored?: string | string[];
}

/**
 * Validates a create body: `name` (at most 191 characters), `is_locked` (see {@link laravelBoolean}),
 * `ignored` (string or array).
 */
export function parseCreateBody(body: Record<string, unknown>): CreateBody {
  const { name, is_locked, ignored } = body;
  if (name !== undefined && name !== null && typeof name !== "string")
    throw invalid("name", "must be a string");
  if (typeof name === "string" && name.length > MAX_NAME_LENGTH)
    throw invalid("name", `may not be greater than ${MAX_NAME_LENGTH} characters`);
  const locked = laravelBoolean(is_locked, "is locked");
  const rules = ignored === null ? undefined : ignored;
  if (rules !== undefined && typeof rules !== "string" && !isStringArray(rules))
    throw invalid("ignored", "must be a string or an array of strings");
  return {
    ...(typeof name === "string" && name.trim() !== "" && { name }),
    locked,
    ...(rules !== undefined && { ignored: rules as string | string[] }),
  };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((line) => typeof line === "string");
}

/** What `POST .../restore` accepts; unknown fields are ignored. */
export interface RestoreBody {
  truncate: boolean;
  /** With `truncate`: keep the server's files that match the backup's ignore rules. */
  keepIgnored: boolean;
}

/** Validates a restore body: `truncate` and `keep_ignored` (see {@link laravelBoolean}), both default false. */
export function parseRestoreBody(body: Record<string, unknown>): RestoreBody {
  return {
    truncate: laravelBoolean(body.truncate, "truncate"),
    keepIgnored: laravelBoolean(body.keep_ignored, "keep ignored"),
  };
}

// Laravel's `boolean` rule, which the panel validates these fields with: exactly these, nothing else
// ("true", "yes", "on" are refused).
const TRUE_FORMS: readonly unknown[] = [true, 1, "1"];
const FALSE_FORMS: readonly unknown[] = [false, 0, "0"];

/**
 * A boolean field as the panel accepts it: `true`/`false`, `1`/`0` or `"1"`/`"0"`; absent or `null` is
 * false; 422 for anything else.
 */
export function laravelBoolean(value: unknown, field: string): boolean {
  if (value === undefined || value === null || FALSE_FORMS.includes(value)) return false;
  if (TRUE_FORMS.includes(value)) return true;
  throw invalid(field, 'must be true or false (or 1, 0, "1", "0")');
}

/** Reads a whole number of at least 1 from the query string, or `undefined`; 422 for anything else. */
export function queryInt(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === "") return undefined;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1)
    throw invalid(name.replace("_", " "), "must be a whole number of at least 1");
  return Number(raw);
}

/**
 * The `page` of the query string as Laravel's paginator reads it: a whole number of at least 1, and page 1
 * for anything else (absent, `0`, `-2`, `01`, `abc`), never an error.
 */
export function queryPage(params: URLSearchParams): number {
  const raw = (params.get("page") ?? "").trim();
  return /^\+?[1-9]\d{0,14}$/.test(raw) ? Number(raw) : 1;
}
