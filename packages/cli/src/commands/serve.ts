import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { open, readdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import {
  type ActivityEvent,
  createArchiveWorkers,
  createBackupManager,
  createVerificationScheduler,
  type RateLimits,
  type ReplicaOptions,
  type StorageAdapter,
  StrongboxError,
  validateServerId,
} from "@strongbox/core";
import { ALL_PERMISSIONS, type ApiHandler, createBackupApi, staticTokens } from "@strongbox/http";
import { createPolicy, type RetentionOptions } from "@strongbox/policy";
import { createDownloadHandler, type LocalStorage } from "@strongbox/storage-local";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  parseCommandArgs,
  UsageError,
} from "../command.js";
import { parseRateLimit, parseWholeNumber } from "../manager-from-flags.js";
import { requireDirectory, statOrUndefined } from "../paths.js";
import { keepRuleHelp, keepRuleOptions, keepRulesFromFlags } from "../retention-flags.js";
import { createCommandHooks } from "../serve-hooks.js";
import { readHooksFile } from "../serve-hooks-config.js";
import { openStorage } from "../storage-url.js";

const USAGE = `Usage: strongbox serve --storage <URL> --servers-root <DIR> [options]

Serves the panel's backup API (see @strongbox/http) for the servers in <DIR>: server {id} is the folder
<DIR>/{id}. Backups in progress left by a crash are marked failed on start. SIGTERM or Ctrl-C stops it:
running backups are cancelled and marked failed, their partial archives removed.

Options:
      --storage <URL>        Where backups go: a folder, file:///abs/dir, or s3://bucket/prefix?...
      --servers-root <DIR>   Folder holding one folder per server
      --port <P>             Port to listen on (default 8080; 0 picks a free one)
      --host <H>             Address to listen on (default 127.0.0.1)
      --token <T>            API token with every permission (default: $STRONGBOX_TOKEN, else a random
                             one printed on start)
      --backup-limit <N>     Most backups per server, failed ones included (default: no limit)
      --max-concurrent <N>   Most backups and restores running at once, all servers together; the
                             others wait in order, shown in progress (default: the number of cores)
      --activity-log <FILE>  Append activity events to FILE as JSON lines
      --rate-limit <RATE>    Most bytes per second all backups and restores together read, write and
                             upload, each direction apart: 50M (MiB/s), 512k, ... (default: no limit)
      --hooks <FILE>         Run the commands a JSON file names before and after each backup and
                             restore (default: none); see the README
      --base-url <URL>       Public address for local download links (default: the listening address)
      --verify-new           Read every new backup back once written and check its sha256 (default:
                             off; it doubles the reads of every backup)
      --verify-schedule <CRON>
                             Verify a sample of the stored backups on this cron schedule, read in this
                             machine's time zone (e.g. "30 4 * * *"), least recently verified first
      --verify-sample <N|P%> Backups per scheduled verification: a count, or a share such as 10%
                             (default 10%)
  -h, --help                 Show this help

Offsite copies:
      --replica <URL>        Copy every successful backup to this second storage too (archive and
                             manifest, checked on arrival, retried with backoff); restore and download
                             use it when the primary copy is missing or damaged. Copies left pending
                             or failed are tried again on start
  The replica's own retention, over the backups it holds (default: it keeps all), as "forget" reads it:
${keepRuleHelp("replica-", 28)}

Local download links are signed with $STRONGBOX_DOWNLOAD_SECRET (at least 32 bytes); without it a
random secret is made per run, so links stop working when the server restarts.`;

const OPTIONS = {
  storage: { type: "string" },
  "servers-root": { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  token: { type: "string" },
  "backup-limit": { type: "string" },
  "max-concurrent": { type: "string" },
  "activity-log": { type: "string" },
  "base-url": { type: "string" },
  "rate-limit": { type: "string" },
  hooks: { type: "string" },
  replica: { type: "string" },
  ...keepRuleOptions("replica-"),
  "verify-new": { type: "boolean" },
  "verify-schedule": { type: "string" },
  "verify-sample": { type: "string" },
} as const;

/** What the command line asks for. */
interface Settings {
  storage: string;
  serversRoot: string;
  port: number;
  host: string;
  token: string | undefined;
  backupLimit: number | undefined;
  /** Operations running at once; undefined: the manager's default (the cores). */
  maxConcurrent: number | undefined;
  activityLog: string | undefined;
  baseUrl: string | undefined;
  /** Bytes per second in each direction, shared by every operation. */
  rateLimit: number | undefined;
  /** The hooks file. */
  hooks: string | undefined;
  /** The replica's storage URL. */
  replica: string | undefined;
  /** The replica's keep rules; undefined: it keeps everything. */
  replicaRetention: RetentionOptions | undefined;
  verifyNew: boolean;
  /** The sample verification's cron expression and size, when asked for. */
  verifySchedule: { cron: string; count?: number; fraction?: number } | undefined;
}

/** `strongbox serve --storage URL --servers-root DIR`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const settings = parseSettings(args, context.cwd);
    await requireDirectory(settings.serversRoot, "The servers folder");
    const serverRoot = (id: string) => join(settings.serversRoot, id);
    const hooks = settings.hooks === undefined ? undefined : await readHooksFile(settings.hooks);
    const log = settings.activityLog === undefined ? undefined : await openActivityLog(settings.activityLog);
    const server = createServer();
    // Requests that arrive while backups left by a crash are recovered wait for the API.
    let ready!: (api: ApiHandler) => void;
    const api = new Promise<ApiHandler>((resolve) => {
      ready = resolve;
    });
    server.on("request", (request, response) => {
      void api.then(async (handle) => {
        if (!(await handle(request, response)))
          response.writeHead(404, { "content-type": "text/plain" }).end("Not found\n");
      });
    });
    try {
      const address = await listen(server, settings.port, settings.host);
      const storage = await openStorage(settings.storage, {
        cwd: context.cwd,
        create: true,
        downloads: { baseUrl: settings.baseUrl ?? address, secret: downloadSecret() },
      });
      const replica = await openReplica(settings, context.cwd, address);
      // One pool of archive threads for the node: concurrent backups share the cores and its memory.
      const workers = createArchiveWorkers();
      const manager = createBackupManager({
        storage,
        workers,
        policy: createPolicy(settings.backupLimit === undefined ? {} : { maxBackups: settings.backupLimit }),
        serverRoot,
        ...(hooks && { hooks: createCommandHooks(hooks, { serverRoot }) }),
        ...(settings.rateLimit !== undefined && { rateLimits: everyDirection(settings.rateLimit) }),
        ...(settings.maxConcurrent !== undefined && { maxConcurrent: settings.maxConcurrent }),
        ...(replica && { replica: replicaOptions(replica, settings.replicaRetention) }),
        verifyNewBackups: settings.verifyNew,
        onActivity: log?.write,
        onWarning: (warning) => context.stderr.write(`strongbox: warning: ${oneLine(warning.message)}\n`),
      });
      const verifier =
        settings.verifySchedule && createVerificationScheduler({ manager, ...settings.verifySchedule });
      try {
        const recovered = await manager.recover();
        if (recovered.length > 0)
          context.stderr.write(`strongbox: marked ${recovered.length} interrupted backup(s) failed\n`);
        ready(
          createBackupApi({ manager, ...apiAccess(settings, context), ...localDownloads(storage, replica) }),
        );
        context.stdout.write(`Listening on ${address}\n`);
        verifier?.start();
        await aborted(context.signal);
        server.close();
        server.closeIdleConnections();
      } finally {
        await verifier?.stop({ cancel: true });
        // Cancels what runs: each backup is marked failed and its partial archive removed.
        await manager.close();
        await workers.close();
      }
    } finally {
      server.closeAllConnections();
      if (server.listening) await new Promise((done) => server.close(done));
      await log?.close();
    }
  },
};

function parseSettings(args: string[], cwd: string): Settings {
  const { values, positionals } = parseCommandArgs("serve", args, OPTIONS);
  expectPositionals("serve", positionals, []);
  const { storage, "servers-root": serversRoot } = values;
  if (storage === undefined || serversRoot === undefined) {
    const flag = storage === undefined ? "storage" : "servers-root";
    throw new UsageError(`serve: missing --${flag} (see "strongbox serve --help").`);
  }
  const port = parseWholeNumber("serve", "port", values.port, 0) ?? 8080;
  if (port > 65_535) throw new UsageError(`serve: --port must be at most 65535, not "${values.port}".`);
  const { "activity-log": activityLog, hooks } = values;
  return {
    storage,
    serversRoot: resolve(cwd, serversRoot),
    port,
    host: values.host ?? "127.0.0.1",
    token: values.token ?? process.env.STRONGBOX_TOKEN,
    backupLimit: parseWholeNumber("serve", "backup-limit", values["backup-limit"], 0),
    maxConcurrent: parseWholeNumber("serve", "max-concurrent", values["max-concurrent"]),
    activityLog: activityLog === undefined ? undefined : resolve(cwd, activityLog),
    baseUrl: values["base-url"],
    rateLimit: parseRateLimit("serve", values["rate-limit"]),
    hooks: hooks === undefined ? undefined : resolve(cwd, hooks),
    replica: values.replica,
    replicaRetention: replicaRetention(values),
    verifyNew: values["verify-new"] ?? false,
    verifySchedule: verifySchedule(values["verify-schedule"], values["verify-sample"]),
  };
}

/** The replica's keep rules; refused without `--replica`, which they would have nothing to apply to. */
function replicaRetention(values: Readonly<Record<string, unknown>>): RetentionOptions | undefined {
  const rules = keepRulesFromFlags("serve", values, "replica-");
  if (rules && values.replica === undefined) {
    throw new UsageError(
      'serve: the --replica-keep-* rules need --replica <URL> (see "strongbox serve --help").',
    );
  }
  if (values.replica !== undefined && values.replica === values.storage) {
    throw new UsageError("serve: --replica must name another storage than --storage.");
  }
  return rules;
}

/** Opens the replica's storage; a local one signs its own download links, served under `/replica`. */
async function openReplica(
  settings: Settings,
  cwd: string,
  address: string,
): Promise<StorageAdapter | undefined> {
  if (settings.replica === undefined) return undefined;
  const baseUrl = `${(settings.baseUrl ?? address).replace(/\/+$/, "")}/replica`;
  return openStorage(settings.replica, {
    cwd,
    create: true,
    downloads: { baseUrl, secret: downloadSecret() },
  });
}

function replicaOptions(storage: StorageAdapter, rules: RetentionOptions | undefined): ReplicaOptions {
  // The keep rules alone: the replica has no limit, throttle or permissions of its own.
  const retention = rules && createPolicy({ retention: rules, requirePermissions: false }).retention;
  return { storage, ...(retention && { retention }) };
}

/** `--verify-schedule` with `--verify-sample` (a count, or a share like `10%`; default 10%). */
function verifySchedule(cron: string | undefined, sample: string | undefined): Settings["verifySchedule"] {
  if (cron === undefined) {
    if (sample !== undefined) throw new UsageError("serve: --verify-sample needs --verify-schedule.");
    return undefined;
  }
  const text = sample ?? "10%";
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent) {
    const fraction = Number(percent[1]) / 100;
    if (fraction > 0 && fraction <= 1) return { cron, fraction };
  } else if (/^\d+$/.test(text) && Number(text) >= 1) {
    return { cron, count: Number(text) };
  }
  throw new UsageError(
    `serve: --verify-sample must be a count of backups (1 or more) or a share from 0% to 100% such as 10%, not "${text}".`,
  );
}

function everyDirection(rate: number): RateLimits {
  return { read: rate, write: rate, upload: rate };
}

/** Servers are the folders of the servers root; one token holds every permission. */
function apiAccess(settings: Settings, context: CommandContext) {
  const token = settings.token ?? randomBytes(24).toString("base64url");
  if (settings.token === undefined)
    context.stderr.write(`strongbox: no --token given; this run's API token is ${token}\n`);
  const isServer = async (id: string) =>
    (await statOrUndefined(join(settings.serversRoot, id)))?.isDirectory() === true;
  return {
    servers: {
      exists: isServer,
      list: () => serverIds(settings.serversRoot, isServer),
      backupLimit: () => settings.backupLimit ?? null,
    },
    authenticate: staticTokens({ [token]: { id: "token", permissions: ALL_PERMISSIONS } }),
    onError: (error: unknown) =>
      context.stderr.write(`strongbox: request failed: ${oneLine(String(error))}\n`),
  };
}

/** The folders of the servers root whose names are server ids, sorted (what `GET /api/client` lists). */
async function serverIds(root: string, isServer: (id: string) => Promise<boolean>): Promise<string[]> {
  const names = (await readdir(root)).filter((name) => isServerId(name)).sort();
  const servers = await Promise.all(names.map(async (name) => ((await isServer(name)) ? name : undefined)));
  return servers.filter((name) => name !== undefined);
}

function isServerId(name: string): boolean {
  try {
    validateServerId(name);
    return true;
  } catch {
    return false;
  }
}

/** Listens, and resolves with the server's own address as a URL (`http://127.0.0.1:8080`). */
async function listen(server: Server, port: number, host: string): Promise<string> {
  server.listen(port, host);
  await Promise.race([
    once(server, "listening"),
    once(server, "error").then(([error]) => Promise.reject(error)),
  ]);
  const bound = (server.address() as AddressInfo).port;
  const wildcard = host === "0.0.0.0" || host === "::";
  const name = wildcard ? hostname() : host;
  return `http://${name.includes(":") ? `[${name}]` : name}:${bound}`;
}

function downloadSecret(): string | Uint8Array {
  return process.env.STRONGBOX_DOWNLOAD_SECRET || randomBytes(32);
}

/**
 * The API serves `/download/backup` itself when the storage is a local folder, and `/replica/download/backup`
 * when the replica is one.
 */
function localDownloads(...storages: (StorageAdapter | undefined)[]): { downloads?: ApiHandler } {
  const handlers = storages.flatMap((storage) => {
    const local = storage as Partial<LocalStorage> | undefined;
    return local?.name === "local" && local.downloads ? [createDownloadHandler(local as LocalStorage)] : [];
  });
  if (handlers.length === 0) return {};
  return {
    async downloads(request, response) {
      for (const handle of handlers) if (await handle(request, response)) return true;
      return false;
    },
  };
}

/** An append-only JSON-lines file: one write per event, so lines never interleave. */
async function openActivityLog(path: string) {
  const file = await open(path, "a").catch((error: NodeJS.ErrnoException) => {
    throw new StrongboxError("INVALID_INPUT", `The activity log "${path}" cannot be opened: ${error.code}.`, {
      cause: error,
    });
  });
  const stream = file.createWriteStream();
  return {
    write: (event: ActivityEvent) => {
      stream.write(`${JSON.stringify(event)}\n`);
    },
    close: async () => {
      stream.end();
      await once(stream, "close");
    },
  };
}

function aborted(signal: CommandContext["signal"]): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((done) => signal.addEventListener("abort", () => done(), { once: true }));
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ");
}
