import type { IncomingMessage, ServerResponse } from "node:http";
import type { BackupManager } from "@strongbox/core";
import { type Authenticate, authenticateRequest, requirePermission } from "./auth.js";
import { errorBody, HttpError, toHttpFailure } from "./errors.js";
import { requestTarget } from "./request-target.js";
import { API_PREFIX, backupRoutes, type Route, type ServerDirectory } from "./routes.js";

/** Options of {@link createBackupApi}. */
export interface BackupApiOptions {
  manager: BackupManager;
  servers: ServerDirectory;
  /** Who a bearer token is; see `staticTokens` for a fixed list. */
  authenticate: Authenticate;
  /**
   * Serves `GET /download/backup?token=...` for storages whose links point back at this server (local
   * disk): pass `createDownloadHandler(storage)` of `@strongbox/storage-local`. It checks its own signed
   * token, not the bearer token.
   */
  downloads?: ApiHandler;
  /** Told of every error answered with a 500, for the embedder's logs (the client sees no detail). */
  onError?: (error: unknown, request: IncomingMessage) => void;
}

/** A request handler that resolves `true` when it answered the request, `false` when the path is not its. */
export type ApiHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

function send(
  response: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  if (body === undefined) {
    response.writeHead(status, { "cache-control": "no-store", ...headers }).end();
    return;
  }
  const text = JSON.stringify(body);
  response
    .writeHead(status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
      "cache-control": "no-store",
      ...headers,
    })
    .end(text);
}

/**
 * The panel's client API for backups as a plain `node:http` handler, mountable in any Node server or
 * framework that hands out `IncomingMessage`/`ServerResponse`:
 *
 * @example
 * ```ts
 * const api = createBackupApi({ manager, servers, authenticate: staticTokens({ [token]: actor }) });
 * http.createServer(async (req, res) => {
 *   if (!(await api(req, res))) res.writeHead(404).end();
 * });
 * ```
 *
 * Order of checks: route (404), bearer token (401), method (405), server (404), permission (403), body
 * (400/422), then the manager and its policy.
 */
export function createBackupApi(options: BackupApiOptions): ApiHandler {
  const routes = backupRoutes(options.manager, options.servers);

  async function answer(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    query: URLSearchParams,
  ) {
    let route: Route | undefined;
    try {
      const matches = routes.filter((candidate) => candidate.pattern.test(path));
      if (matches.length === 0)
        throw new HttpError(404, "NotFoundHttpException", "The requested resource does not exist.");
      const actor = await authenticateRequest(request, options.authenticate);
      route = matches.find((candidate) => candidate.method === request.method);
      if (!route) {
        response.setHeader("allow", matches.map((candidate) => candidate.method).join(", "));
        throw new HttpError(405, "MethodNotAllowedHttpException", `${request.method} is not allowed here.`);
      }
      const [, server = "", backup = ""] = route.pattern.exec(path)!;
      if (!(await options.servers.exists(server, actor)))
        throw new HttpError(404, "NotFoundHttpException", "The requested server does not exist.");
      requirePermission(actor, route.permission);
      const result = await route.run({ actor, server, backup: backup.toLowerCase(), query, request });
      send(response, result.status, result.body);
    } catch (error) {
      const failure = toHttpFailure(error, route?.errors);
      if (failure.status === 500) options.onError?.(error, request);
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const headers = { ...failure.headers, ...(failure.status === 401 && { "www-authenticate": "Bearer" }) };
      send(response, failure.status, errorBody(failure), headers);
    }
  }

  return async (request, response) => {
    if (options.downloads && (await options.downloads(request, response))) return true;
    const { path, query } = requestTarget(request.url);
    if (!path.startsWith(API_PREFIX)) return false;
    await answer(request, response, path, query);
    return true;
  };
}
