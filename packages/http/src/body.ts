import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors.js";

const MAX_BODY_BYTES = 64 * 1024;
// The panel's database column.
const MAX_NAME_LENGTH = 191;

/** Reads a JSON object body (an empty body is `{}`); 400 for anything else, 413 past 64 KiB. */
export async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, "PayloadTooLargeHttpException", "The request body is larger than 64 KiB.");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
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

/** Validates a create body: `name` (at most 191 characters), `is_locked`, `ignored` (string or array). */
export function parseCreateBody(body: Record<string, unknown>): CreateBody {
  const { name, is_locked, ignored } = body;
  if (name !== undefined && name !== null && typeof name !== "string")
    throw invalid("name", "must be a string");
  if (typeof name === "string" && name.length > MAX_NAME_LENGTH)
    throw invalid("name", `may not be greater than ${MAX_NAME_LENGTH} characters`);
  if (is_locked !== undefined && is_locked !== null && typeof is_locked !== "boolean")
    throw invalid("is locked", "must be true or false");
  const rules = ignored === null ? undefined : ignored;
  if (rules !== undefined && typeof rules !== "string" && !isStringArray(rules))
    throw invalid("ignored", "must be a string or an array of strings");
  return {
    ...(typeof name === "string" && name.trim() !== "" && { name }),
    locked: is_locked === true,
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

/** Validates a restore body: `truncate` and `keep_ignored`, both default false. */
export function parseRestoreBody(body: Record<string, unknown>): RestoreBody {
  const { truncate, keep_ignored } = body;
  if (truncate !== undefined && truncate !== null && typeof truncate !== "boolean")
    throw invalid("truncate", "must be true or false");
  if (keep_ignored !== undefined && keep_ignored !== null && typeof keep_ignored !== "boolean")
    throw invalid("keep ignored", "must be true or false");
  return { truncate: truncate === true, keepIgnored: keep_ignored === true };
}

/** Reads a whole number of at least 1 from the query string, or `undefined`; 422 for anything else. */
export function queryInt(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === "") return undefined;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1)
    throw invalid(name.replace("_", " "), "must be a whole number of at least 1");
  return Number(raw);
}
