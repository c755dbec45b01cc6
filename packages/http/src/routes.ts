import type { IncomingMessage } from "node:http";
import type { Actor, BackupManager, ErrorCode, ServerState } from "@strongbox/core";
import { parseCreateBody, parseRestoreBody, queryInt, queryPage, readJsonBody } from "./body.js";
import { RESTORE_STATE_CONFLICT } from "./errors.js";
import { pageOf } from "./pagination.js";
import { backupObject, listObject } from "./serialize.js";
import { serverObject } from "./server-object.js";

/** What the API needs to know about the servers it serves. */
export interface ServerDirectory {
  /**
   * Whether the server exists for this actor; `false` answers 404, so an embedder can also hide the
   * servers an actor has no access to.
   */
  exists(server: string, actor: Actor): boolean | Promise<boolean>;
  /** The ids of the servers this actor may see, for `GET /api/client` (client libraries call it first). */
  list(actor: Actor): readonly string[] | Promise<readonly string[]>;
  /** The server's backup limit for `feature_limits.backups` (`null`: none). */
  backupLimit(server: string): number | null | Promise<number | null>;
  /**
   * The server's state, shown as the panel's `status` when it is one of the panel's (`installing`,
   * `install_failed`, `suspended`, `transferring`, `restoring_backup`); default: none, `status: null`.
   * A restore running in the manager shows `restoring_backup` whatever this says.
   */
  state?(server: string): ServerState | undefined | Promise<ServerState | undefined>;
}

/**
 * What a route's `run` is given: the ids are checked by shape already, the backup id in lower case;
 * `server` is empty on routes that are not a server's.
 */
export interface RouteContext {
  actor: Actor;
  server: string;
  backup: string;
  query: URLSearchParams;
  request: IncomingMessage;
}

/** One route of the API. */
export interface Route {
  method: string;
  pattern: RegExp;
  /** What the actor must hold; none: any authenticated actor. */
  permission?: string;
  /** Status mappings of engine codes that differ on this route. */
  errors?: Partial<Record<ErrorCode, { status: number; code: string }>>;
  run(context: RouteContext): Promise<{ status: number; body?: unknown }>;
}

// Ids by shape, so nothing else can match; the manager validates them again before building any key.
const SERVER = "([A-Za-z0-9][A-Za-z0-9_-]{0,127})";
const UUID = "([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})";
const ACCOUNT_PATH = "^/api/client";
const SERVER_PATH = `${ACCOUNT_PATH}/servers/${SERVER}`;
const BACKUPS = `${SERVER_PATH}/backups`;
const BACKUP = `${BACKUPS}/${UUID}`;

/**
 * Every path under this is the API's: those that are no route get a JSON 404, as the panel answers
 * them, so that a client parsing the error never meets plain text.
 */
export const API_PREFIX = "/api/";

// The panel's server listing: 50 a page unless asked, at most 100.
const SERVERS_PER_PAGE = 50;
const MAX_SERVERS_PER_PAGE = 100;

/** The routes of design.md's HTTP API over `manager`. */
export function backupRoutes(manager: BackupManager, servers: ServerDirectory): Route[] {
  const path = (pattern: string) => new RegExp(`${pattern}/?$`);
  const server = (id: string) => serverObject(id, manager, servers);
  return [
    {
      method: "GET",
      pattern: path(ACCOUNT_PATH),
      run: async ({ actor, query }) => {
        const perPage = Math.min(queryInt(query, "per_page") ?? SERVERS_PER_PAGE, MAX_SERVERS_PER_PAGE);
        const { items, pagination } = pageOf(await servers.list(actor), queryPage(query), perPage);
        return {
          status: 200,
          body: { object: "list", data: await Promise.all(items.map(server)), meta: { pagination } },
        };
      },
    },
    {
      method: "GET",
      pattern: path(SERVER_PATH),
      permission: "backup.read",
      run: async (context) => ({ status: 200, body: await server(context.server) }),
    },
    {
      method: "GET",
      pattern: path(BACKUPS),
      permission: "backup.read",
      run: async ({ server, query }) => {
        const perPage = queryInt(query, "per_page");
        const list = await manager.list(server, {
          page: queryPage(query),
          ...(perPage !== undefined && { perPage }),
        });
        return { status: 200, body: listObject(list) };
      },
    },
    {
      method: "POST",
      pattern: path(BACKUPS),
      permission: "backup.create",
      run: async ({ server, actor, request }) => {
        const body = parseCreateBody(await readJsonBody(request));
        return { status: 200, body: backupObject(await manager.create(server, { ...body, actor })) };
      },
    },
    {
      method: "GET",
      pattern: path(BACKUP),
      permission: "backup.read",
      run: async ({ server, backup }) => ({
        status: 200,
        body: backupObject(await manager.get(server, backup)),
      }),
    },
    {
      method: "GET",
      pattern: path(`${BACKUP}/download`),
      permission: "backup.download",
      run: async ({ server, backup, actor }) => ({
        status: 200,
        body: {
          object: "signed_url",
          attributes: { url: await manager.downloadUrl(server, backup, { actor }) },
        },
      }),
    },
    {
      method: "POST",
      pattern: path(`${BACKUP}/restore`),
      permission: "backup.restore",
      errors: { SERVER_STATE_CONFLICT: RESTORE_STATE_CONFLICT },
      run: async ({ server, backup, actor, request }) => {
        const { truncate, keepIgnored } = parseRestoreBody(await readJsonBody(request));
        // The outcome arrives as restore-complete / restore-fail activity events, as in the panel.
        await manager.startRestore(server, backup, { truncate, keepIgnored, actor });
        return { status: 204 };
      },
    },
    {
      method: "POST",
      pattern: path(`${BACKUP}/lock`),
      permission: "backup.delete",
      run: async ({ server, backup, actor }) => {
        const current = await manager.get(server, backup);
        const updated = await manager.setLocked(server, backup, !current.is_locked, { actor });
        return { status: 200, body: backupObject(updated) };
      },
    },
    {
      method: "POST",
      pattern: path(`${BACKUP}/verify`),
      permission: "backup.read",
      run: async ({ server, backup, actor }) => ({
        status: 200,
        body: backupObject(await manager.verify(server, backup, { actor })),
      }),
    },
    {
      method: "DELETE",
      pattern: path(BACKUP),
      permission: "backup.delete",
      run: async ({ server, backup, actor }) => {
        await manager.delete(server, backup, { actor });
        return { status: 204 };
      },
    },
  ];
}
