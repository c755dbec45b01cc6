// The demo of the README: a sample game server folder is backed up (with ignore rules), listed, damaged,
// restored with truncate, copied out to a second folder, and checked. Uses the built packages, as an
// embedder would: run `pnpm build` first (the README's first command does).
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createBackupManager, extract } from "@strongbox/core";
import { createPolicy } from "@strongbox/policy";
import { createLocalStorage } from "@strongbox/storage-local";

const say = (line) => console.log(line);
const work = await mkdtemp(join(tmpdir(), "strongbox-demo-"));
const serverId = "survival-1";
const serverRoot = join(work, "servers", serverId);

async function makeServer() {
  const files = {
    "server.properties": "motd=Strongbox demo\nmax-players=20\n",
    "eula.txt": "eula=true\n",
    "world/level.dat": Buffer.alloc(4096, 7),
    "world/region/r.0.0.mca": Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => (i * 31) % 251)),
    "plugins/Essentials/config.yml": "spawn-on-join: true\n",
    "logs/latest.log": "[12:00:00] Server started\n".repeat(500),
    "cache/mojang_1.21.jar": Buffer.alloc(64 * 1024, 1),
    "crash-reports/old.txt": "old crash\n",
  };
  for (const [path, data] of Object.entries(files)) {
    await mkdir(join(serverRoot, path, ".."), { recursive: true });
    await writeFile(join(serverRoot, path), data);
  }
  await mkdir(join(serverRoot, "world", "datapacks"), { recursive: true });
  await symlink("server.properties", join(serverRoot, "current.properties"));
}

async function listTree(root) {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.map((e) => relative(root, join(e.parentPath, e.name))).sort();
}

async function sha256(stream) {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk);
  return `sha256:${hash.digest("hex")}`;
}

try {
  await makeServer();
  say(`1. Made a sample server folder at ${serverRoot} (${(await listTree(serverRoot)).length} entries).`);

  const storage = createLocalStorage({ root: join(work, "backups") });
  const manager = createBackupManager({
    storage,
    policy: createPolicy({ maxBackups: 3 }),
    serverRoot: () => serverRoot,
    onActivity: (event) => say(`   activity: ${event.event} ${JSON.stringify(event.properties)}`),
  });

  const ignored = "*.log\ncache/\ncrash-reports/";
  const started = await manager.create(serverId, { name: "Before the update", ignored });
  const backup = await manager.wait(serverId, started.uuid);
  if (!backup.is_successful) throw new Error(`the backup failed: ${backup.error}`);
  say(
    `2. Backed it up, ignoring ${JSON.stringify(backup.ignored_files)}: ${backup.bytes} bytes, ${backup.checksum}.`,
  );

  const page = await manager.list(serverId);
  say(`3. The server has ${page.backup_count} backup(s):`);
  for (const b of page.data)
    say(`   ${b.uuid}  ${b.name}  ${b.is_successful ? "successful" : "failed"}  ${b.bytes} B`);

  const stored = await sha256(await storage.get(`${serverId}/${backup.uuid}.tar.gz`));
  if (stored !== backup.checksum) throw new Error(`checksum mismatch: ${stored} != ${backup.checksum}`);
  say("4. Re-read the stored archive: its sha256 matches the record.");

  await rm(join(serverRoot, "world"), { recursive: true });
  await writeFile(join(serverRoot, "griefed.txt"), "oops");
  say("5. Damaged the server: deleted world/, added griefed.txt.");

  await manager.restore(serverId, backup.uuid, { truncate: true });
  const after = await listTree(serverRoot);
  if (after.includes("griefed.txt") || !after.includes("world/region/r.0.0.mca"))
    throw new Error("restore did not truncate");
  if (after.includes("logs/latest.log") || after.some((p) => p.startsWith("cache")))
    throw new Error(`ignored files came back: ${after.join(", ")}`);
  say(
    `6. Restored with truncate: the folder holds exactly the backup (${after.length} entries, no griefed.txt).`,
  );

  const copy = join(work, "restored-copy");
  const result = await extract(await storage.get(`${serverId}/${backup.uuid}.tar.gz`), copy, {
    mode: "truncate",
    expectedChecksum: backup.checksum,
  });
  say(`7. Restored the same archive into ${copy}: ${result.files} files, checksum verified.`);
  await manager.close();
  say("Demo complete.");
} finally {
  await rm(work, { recursive: true, force: true });
}
