import type { IncomingMessage, ServerResponse } from "node:http";
import type { BackupManager } from "@strongbox/core";
import { type Authenticate, authenticateRequest, requirePermission } from "./auth.js";
import { errorBody, HttpError, toHttpFailure } from "./errors.js";
import { requestTarget } from "./request-target.js";
import { respond } from "./respond.js";
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
        const allowed = matches.map((candidate) => candidate.method).join(", ");
        response.setHeader("allow", allowed);
        throw new HttpError(
          405,
          "MethodNotAllowedHttpException",
          `The ${request.method} method is not supported for this route. Supported methods: ${allowed}.`,
        );
      }
      const [, server, backup = ""] = route.pattern.exec(path)!;
      if (server !== undefined && !(await options.servers.exists(server, actor)))
        throw new HttpError(404, "NotFoundHttpException", "The requested server does not exist.");
      if (route.permission !== undefined) requirePermission(actor, route.permission);
      const context = { actor, server: server ?? "", backup: backup.toLowerCase(), query, request };
      const result = await route.run(context);
      respond(request, response, result.status, result.body);
    } catch (error) {
      const failure = toHttpFailure(error, route?.errors);
      if (failure.status === 500) options.onError?.(error, request);
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const headers = { ...failure.headers, ...(failure.status === 401 && { "www-authenticate": "Bearer" }) };
      respond(request, response, failure.status, errorBody(failure), headers);
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
