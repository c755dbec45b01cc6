// A node daemon serving the backup API with its own API keys and server registry.
// Run with `pnpm start [work-folder]`; the folder holds daemon.json, servers/ and backups/.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { type Actor, createBackupManager } from "@strongbox/core";
import { createBackupApi } from "@strongbox/http";
import { createPolicy } from "@strongbox/policy";
import { createDownloadHandler, createLocalStorage } from "@strongbox/storage-local";

/** daemon.json: the servers this node hosts, and API keys stored as their sha256 (never in clear). */
interface DaemonConfig {
  servers: Record<string, { state: string; backupLimit: number }>;
  keys: Record<string, { user: string; servers: string[]; permissions: string[] }>;
}

const work = resolve(process.argv[2] ?? "daemon-data");
const config = await loadConfig(join(work, "daemon.json"));
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const server = createServer();
await new Promise<void>((done) => server.listen(Number(process.env.PORT ?? 8080), "127.0.0.1", done));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const storage = createLocalStorage({
  root: join(work, "backups"),
  downloads: { baseUrl: origin, secret: process.env.DOWNLOAD_SECRET ?? randomBytes(32) },
});
const manager = createBackupManager({
  storage,
  policy: createPolicy({ maxBackups: (id) => config.servers[id]?.backupLimit }),
  serverRoot: (id) => join(work, "servers", id),
  // What the game server is doing right now: restores are refused while it installs.
  serverState: (id) => config.servers[id]?.state ?? "offline",
  onActivity: (event) => console.log(JSON.stringify({ activity: event })),
});
await manager.recover();

/** An actor per key: the user, their permissions, and (kept beside) the servers they may see. */
const access = new WeakMap<Actor, string[]>();
const api = createBackupApi({
  manager,
  // Looking up the key's hash leaks nothing about the key through timing.
  authenticate: (token) => {
    const key = config.keys[sha256(token)];
    if (!key) return undefined;
    const actor: Actor = { id: key.user, permissions: key.permissions };
    access.set(actor, key.servers);
    return actor;
  },
  servers: {
    exists: (id, actor) => id in config.servers && (access.get(actor) ?? []).includes(id),
    list: (actor) => (access.get(actor) ?? []).filter((id) => id in config.servers),
    backupLimit: (id) => config.servers[id]?.backupLimit ?? null,
    // Shown as the panel's `status` (installing, suspended, ...).
    state: (id) => config.servers[id]?.state,
  },
  downloads: createDownloadHandler(storage),
  onError: (error) => console.error("request failed:", error),
});
server.on("request", (req, res) => {
  void api(req, res).then((served) => served || res.writeHead(404).end());
});
console.log(`Listening on ${origin}`);

process.once("SIGTERM", async () => {
  server.close();
  await manager.close(); // running backups are cancelled and marked failed
  server.closeAllConnections();
});

/** Reads daemon.json, or writes a demo one (one server, one key printed once) on the first run. */
async function loadConfig(path: string): Promise<DaemonConfig> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as DaemonConfig;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const key = randomBytes(24).toString("base64url");
  const demo: DaemonConfig = {
    servers: { "srv-1": { state: "offline", backupLimit: 3 } },
    keys: {
      [createHash("sha256").update(key).digest("hex")]: {
        user: "admin",
        servers: ["srv-1"],
        permissions: ["backup.create", "backup.read", "backup.download", "backup.restore", "backup.delete"],
      },
    },
  };
  await mkdir(join(work, "servers", "srv-1"), { recursive: true });
  await writeFile(path, JSON.stringify(demo, null, 2));
  console.error(`Wrote ${path}; API key for srv-1: ${key}`);
  return demo;
}
