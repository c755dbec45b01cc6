// A panel's "Backups" tab, backed by Strongbox: run with `pnpm start [work-folder]`.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackupManager, isStrongboxError } from "@strongbox/core";
import { createPolicy } from "@strongbox/policy";
import { createLocalStorage } from "@strongbox/storage-local";

// The panel's folders: game servers under servers/, backups under backups/.
const work = process.argv[2] ?? (await mkdtemp(join(tmpdir(), "strongbox-panel-")));
const servers = join(work, "servers");
await mkdir(join(servers, "srv-1", "world"), { recursive: true });
await writeFile(join(servers, "srv-1", "server.properties"), "motd=A Minecraft Server\n");
await writeFile(join(servers, "srv-1", "world", "level.dat"), "level data");
await writeFile(join(servers, "srv-1", "latest.log"), "log noise");

const manager = createBackupManager({
  storage: createLocalStorage({ root: join(work, "backups") }),
  // The panel's rules: 3 backups per server, at most 2 created every 10 minutes.
  policy: createPolicy({ maxBackups: 3, throttle: { limit: 2, periodMs: 10 * 60_000 } }),
  serverRoot: (server) => join(servers, server),
  serverState: async () => "offline", // ask the panel's database
  onActivity: (event) => console.log(JSON.stringify({ activity: event })), // the panel's activity log
  onProgress: (progress) => console.log(JSON.stringify({ progress })), // a progress bar over websockets
});
await manager.recover(); // backups a crash left in progress become failed

// A user who may create, read and restore, but not delete (so not lock either).
const user = { id: "user-42", permissions: ["backup.create", "backup.read", "backup.restore"] };
const started = await manager.create("srv-1", { name: "Before update", ignored: "*.log", actor: user });
const backup = await manager.wait("srv-1", started.uuid);

let refused: string | undefined;
try {
  await manager.create("srv-1", { locked: true, actor: user });
} catch (error) {
  if (!isStrongboxError(error)) throw error;
  refused = error.code; // show error.message to the user
}

await writeFile(join(servers, "srv-1", "server.properties"), "motd=broken by the update\n");
await manager.restore("srv-1", backup.uuid, { truncate: true, actor: user });

const page = await manager.list("srv-1", { perPage: 20 });
console.log(JSON.stringify({ result: { work, backup, refused, backup_count: page.backup_count } }));
await manager.close();
