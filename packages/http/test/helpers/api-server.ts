import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  type ActivityEvent,
  type Actor,
  type BackupManager,
  createBackupManager,
  type ServerState,
} from "@strongbox/core";
import { createPolicy, type PolicyOptions } from "@strongbox/policy";
import { createDownloadHandler, createLocalStorage } from "@strongbox/storage-local";
import { expect } from "vitest";
import { ALL_PERMISSIONS, createBackupApi, staticTokens } from "../../src/index.js";

/** Tokens of the test API: `admin` holds every permission, the others one each, `none` nothing. */
export const TOKENS = {
  admin: "admin-token",
  create: "create-token",
  read: "read-token",
  download: "download-token",
  restore: "restore-token",
  delete: "delete-token",
  none: "none-token",
} as const;

/** The servers that exist: `srv-1` (limit 3), `srv-2` (limit 3) and `srv-installing` (state `installing`). */
export const SERVERS = ["srv-1", "srv-2", "srv-installing"] as const;

const serverState = (id: string): ServerState => (id === "srv-installing" ? "installing" : "offline");

/** An answer: status, headers, the raw body and the body parsed as JSON (when it is). */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies field by field
  json: any;
}

/** A running API on 127.0.0.1 over temp folders. */
export interface TestApi {
  origin: string;
  manager: BackupManager;
  serversRoot: string;
  storageRoot: string;
  events: ActivityEvent[];
  /** Moves the download tokens' clock. */
  advanceClock(ms: number): void;
  /** Sends a request with the path exactly as given (nothing normalized), as `token`. */
  call(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<Answer>;
  /** GETs an absolute URL (a download link). */
  fetchUrl(url: string, headers?: Record<string, string>): Promise<Answer>;
  /** Creates a backup through the API (as admin), expects 200, and resolves with its uuid once it has ended. */
  backup(server?: string, body?: Record<string, unknown>): Promise<string>;
  /** Resolves once the `nth` (default first) activity event with this name for this backup has been seen. */
  event(name: ActivityEvent["event"], backup: string, nth?: number): Promise<ActivityEvent>;
  close(): Promise<void>;
}

/**
 * Starts the API with a local storage, `createPolicy(policy)` and the {@link TOKENS}. With `hold`, every
 * operation waits for the promise it returns before reading its server folder (the server stays
 * reserved meanwhile).
 */
export async function startApi(
  policy: PolicyOptions = { maxBackups: 3 },
  hold?: () => Promise<void>,
): Promise<TestApi> {
  const base = await mkdtemp(join(tmpdir(), "strongbox-http-"));
  const serversRoot = join(base, "servers");
  const storageRoot = join(base, "storage");
  for (const server of SERVERS) await mkdir(join(serversRoot, server), { recursive: true });
  let offset = 0;
  const events: ActivityEvent[] = [];
  const waiters = new Set<() => void>();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const storage = createLocalStorage({
    root: storageRoot,
    downloads: { baseUrl: origin, secret: "s".repeat(32), now: () => Date.now() + offset },
  });
  const manager = createBackupManager({
    storage,
    policy: createPolicy(policy),
    serverRoot: async (id) => {
      await hold?.();
      return join(serversRoot, id);
    },
    serverState,
    onActivity: (event) => {
      events.push(event);
      for (const wake of waiters) wake();
    },
  });
  const actor = (id: string, permissions: readonly string[]): Actor => ({ id, permissions });
  const api = createBackupApi({
    manager,
    servers: {
      exists: (id) => (SERVERS as readonly string[]).includes(id),
      list: () => SERVERS,
      state: serverState,
      backupLimit: () => (typeof policy.maxBackups === "number" ? policy.maxBackups : null),
    },
    authenticate: staticTokens({
      [TOKENS.admin]: actor("admin", ALL_PERMISSIONS),
      [TOKENS.create]: actor("creator", ["backup.create"]),
      [TOKENS.read]: actor("reader", ["backup.read"]),
      [TOKENS.download]: actor("downloader", ["backup.download"]),
      [TOKENS.restore]: actor("restorer", ["backup.restore"]),
      [TOKENS.delete]: actor("deleter", ["backup.delete"]),
      [TOKENS.none]: actor("nobody", []),
    }),
    downloads: createDownloadHandler(storage),
  });
  server.on("request", (req, res) => {
    void api(req, res).then((served) => {
      if (!served) res.writeHead(404).end("not the API");
    });
  });

  const event = (name: ActivityEvent["event"], backup: string, nth = 1) =>
    new Promise<ActivityEvent>((resolve) => {
      const check = () => {
        const found = events.filter((candidate) => candidate.event === name && candidate.backup === backup)[
          nth - 1
        ];
        if (!found) return;
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
    });

  const testApi: TestApi = {
    origin,
    manager,
    serversRoot,
    storageRoot,
    events,
    advanceClock: (ms) => {
      offset += ms;
    },
    call: (method, path, options = {}) => {
      const token = options.token === undefined ? TOKENS.admin : options.token;
      const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      return send(
        new URL(origin),
        method,
        path,
        {
          ...(token !== null && { authorization: `Bearer ${token}` }),
          ...(body !== undefined && { "content-type": "application/json" }),
          ...options.headers,
        },
        body,
      );
    },
    fetchUrl: (url, headers = {}) => {
      const parsed = new URL(url);
      return send(parsed, "GET", parsed.pathname + parsed.search, headers);
    },
    event,
    async backup(server = "srv-1", body = {}) {
      const created = await testApi.call("POST", `/api/client/servers/${server}/backups`, { body });
      expect(created.status).toBe(200);
      const uuid = created.json.attributes.uuid as string;
      // The manager frees the server once its run has settled, a moment after the event.
      await manager.wait(server, uuid);
      return uuid;
    },
    async close() {
      await manager.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(base, { recursive: true, force: true });
    },
  };
  return testApi;
}

function send(
  origin: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: origin.hostname, port: origin.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const raw = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(raw.toString("utf8"));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Writes files (path -> content) under `root`. */
export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

/** Resolves once `predicate` holds; it is checked again on each turn of the event loop. */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The panel's error body, to compare an answer with: `detail` exactly or matching a pattern. */
export function panelError(status: number, code: string, detail: string | RegExp) {
  return {
    errors: [
      {
        code,
        status: String(status),
        detail: typeof detail === "string" ? detail : expect.stringMatching(detail),
      },
    ],
  };
}
