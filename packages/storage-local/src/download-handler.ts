import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { type ErrorCode, isStrongboxError, StrongboxError } from "@strongbox/core/parts";
import { attachmentDisposition } from "./content-disposition.js";
import type { DownloadGrant } from "./download-tokens.js";
import { parseRange } from "./http-range.js";
import type { LocalStorage } from "./local-storage.js";

/** Options of {@link createDownloadHandler}. */
export interface DownloadHandlerOptions {
  /** The storage whose signed links are served; it must have `downloads` configured. */
  storage: LocalStorage;
  /** Request path to answer (default: the path of `downloads.baseUrl` + `/download/backup`). */
  path?: string;
}

/**
 * A `node:http` request handler. Resolves `true` when it answered the request, `false` when the request
 * was for another path (so it can sit in front of other handlers).
 */
export type DownloadHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * Serves `GET`/`HEAD /download/backup?token=...` for signed links made by `downloadUrl`: 401 without a
 * token, 403 for a bad, tampered, expired or spent one, 404 when the object is gone, 200 or 206 (single
 * `Range`) with Content-Length and Content-Disposition, 416 for a range beyond the object.
 *
 * @example
 * ```ts
 * const handle = createDownloadHandler(storage);
 * http.createServer(async (req, res) => { if (!(await handle(req, res))) next(req, res) });
 * ```
 */
export function createDownloadHandler(options: LocalStorage | DownloadHandlerOptions): DownloadHandler {
  const { storage, path } = "storage" in options ? options : { storage: options, path: undefined };
  const downloads = storage.downloads;
  if (!downloads) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "The download handler needs a local storage created with the `downloads` option.",
    );
  }
  const servedPath = path ?? downloads.path;

  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== servedPath) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      sendError(res, 405, "INVALID_INPUT", "Download links answer GET and HEAD only.");
      return true;
    }
    const token = url.searchParams.get("token");
    if (!token) {
      sendError(res, 401, "PERMISSION_DENIED", "This download link has no token; ask for a new link.");
      return true;
    }
    try {
      const grant = await downloads.verify(token);
      await serve(storage, grant, req, res, () => downloads.consume(grant));
    } catch (error) {
      if (res.headersSent) res.destroy();
      else if (isStrongboxError(error, "PERMISSION_DENIED")) sendError(res, 403, error.code, error.message);
      else if (isStrongboxError(error, "NOT_FOUND"))
        sendError(res, 404, error.code, "This backup no longer exists.");
      else sendError(res, 500, "STORAGE_ERROR", "The backup could not be read; try again later.");
    }
    return true;
  };
}

async function serve(
  storage: LocalStorage,
  grant: DownloadGrant,
  req: IncomingMessage,
  res: ServerResponse,
  consume: () => void,
): Promise<void> {
  const info = await storage.stat(grant.key);
  if (!info) throw new StrongboxError("NOT_FOUND", "This backup no longer exists.");
  const range = parseRange(req.headers.range, info.size);
  if (range.kind === "unsatisfiable") {
    res.setHeader("Content-Range", `bytes */${info.size}`);
    sendError(res, 416, "INVALID_INPUT", "The requested range lies beyond the end of the backup.");
    return;
  }
  const head = req.method === "HEAD";
  // Looking (HEAD) does not spend a single-use link; downloading does, ranged or not.
  if (!head) consume();
  const span = range.kind === "partial" ? { start: range.start, end: range.end } : undefined;
  const aborted = new AbortController();
  res.once("close", () => aborted.abort());
  const body = head
    ? undefined
    : await storage.get(grant.key, { signal: aborted.signal, ...(span && { range: span }) });
  res.writeHead(span ? 206 : 200, {
    "Content-Type": grant.key.endsWith(".gz") ? "application/gzip" : "application/octet-stream",
    "Content-Length": span ? span.end - span.start + 1 : info.size,
    "Content-Disposition": attachmentDisposition(grant.filename),
    "Accept-Ranges": "bytes",
    "Last-Modified": info.modifiedAt.toUTCString(),
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    ...(span && { "Content-Range": `bytes ${span.start}-${span.end}/${info.size}` }),
  });
  if (!body) {
    res.end();
    return;
  }
  await pipeline(body, res).catch(() => {
    // The client went away mid-download; nothing to answer.
  });
}

function sendError(res: ServerResponse, status: number, code: ErrorCode, detail: string): void {
  const body = JSON.stringify({ errors: [{ code, status: String(status), detail }] });
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(body);
}
