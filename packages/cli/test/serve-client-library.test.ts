import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, open, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Client, JSPteroAPIError } from "jspteroapi";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "./helpers/run-cli.js";
import { jsonLinesUntil, killServe, type ServeProcess, spawnServe } from "./helpers/serve.js";

// JSPteroAPI (npm), a published client of the panel's API, drives a real `strongbox serve` over real
// local storage: what a panel's client code meets, field by field and error by error.
const TOKEN = "client-library-token";
// PHP's DATE_ATOM, as the panel and its clients parse dates: whole seconds, an explicit offset.
const DATE_ATOM = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/;

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let serve: ServeProcess | undefined;
let log: string;
let root: string;
let release: string;

beforeEach(async () => {
  temp = await makeTempDir();
  log = join(temp.path, "activity.jsonl");
  root = join(temp.path, "servers", "srv-1");
  await mkdir(join(root, "world"), { recursive: true });
  await mkdir(join(temp.path, "servers", "srv-2"));
  await writeFile(join(root, "server.properties"), "motd=hello\n");
  await writeFile(join(root, "world", "level.dat"), "level");
  await writeFile(join(root, "latest.log"), "noise");
  await writeFile(log, "");
  // Each restore waits in its before-hook until the test opens this pipe: the restore is then
  // certainly running when the client looks at the server's status.
  release = join(temp.path, "release-restore");
  execFileSync("mkfifo", [release]);
  const hooks = join(temp.path, "hooks.json");
  await writeFile(hooks, JSON.stringify({ beforeRestore: ["cat", release] }));
  serve = await spawnServe([
    "--storage",
    join(temp.path, "storage"),
    "--servers-root",
    join(temp.path, "servers"),
    "--port",
    "0",
    "--token",
    TOKEN,
    "--backup-limit",
    "3",
    "--activity-log",
    log,
    "--hooks",
    hooks,
  ]);
});
afterEach(async () => {
  // A restore still waiting in its hook (a test that failed early) is let go, so no `cat` is left behind.
  await open(release, constants.O_WRONLY | constants.O_NONBLOCK).then(
    (pipe) => pipe.close(),
    () => {},
  );
  await killServe(serve?.child);
  await temp.remove();
});

/** Resolves once the activity log holds `event` for `backup`. */
function logged(event: string, backup: string, nth = 1) {
  return jsonLinesUntil(
    log,
    (events) => events.filter((line) => line.event === event && line.backup === backup).length >= nth,
  );
}

/** The client's rejection, to read its status and the details the panel's error body carried. */
async function refusal(call: Promise<unknown>): Promise<JSPteroAPIError> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(JSPteroAPIError);
  return error as JSPteroAPIError;
}

describe("a published panel client (JSPteroAPI) against strongbox serve", () => {
  it("logs in, creates, polls, lists, downloads, locks, restores and deletes a backup", async () => {
    // Fast login skips the constructor's own check, which nobody awaits; it is asked for here instead.
    const client = new Client(serve!.origin, TOKEN, undefined, true);
    expect(await client.testAPI()).toBe(true);
    const servers = await client.getAllServers();
    expect(servers.map((server) => server.attributes.identifier)).toEqual(["srv-1", "srv-2"]);
    const info = await client.getServerInfo("srv-1");
    expect(info.feature_limits.backups).toBe(3);
    expect((info as unknown as { status: unknown }).status).toBe(null);

    const created = await client.createBackup("srv-1", "From a client library", ["*.log"]);
    expect(created).toMatchObject({
      name: "From a client library",
      is_successful: false,
      completed_at: null,
    });
    expect(created.ignored_files).toEqual(["*.log"]);
    expect(created.created_at).toMatch(DATE_ATOM);
    const uuid = created.uuid;

    // Poll as a panel does, each look once the daemon has reported a step.
    let backup = await client.getBackupInfo("srv-1", uuid);
    if (backup.completed_at === null) {
      await logged("server:backup.complete", uuid);
      backup = await client.getBackupInfo("srv-1", uuid);
    }
    expect(backup).toMatchObject({ uuid, is_successful: true, is_locked: false });
    expect(backup.created_at).toMatch(DATE_ATOM);
    expect(backup.completed_at).toMatch(DATE_ATOM);
    expect(backup.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    const listed = await client.getAllBackups("srv-1");
    expect(listed.map((item) => item.attributes.uuid)).toEqual([uuid]);

    const url = await client.getBackupDownloadLink("srv-1", uuid);
    const archive = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(`sha256:${createHash("sha256").update(archive).digest("hex")}`).toBe(backup.checksum);
    expect(archive.length).toBe(backup.bytes);
    const entries = execFileSync("tar", ["-tzf", "-"], { input: archive }).toString().split("\n").sort();
    expect(entries).toEqual(["", "server.properties", "world/", "world/level.dat"]);

    expect((await client.toggleLockBackup("srv-1", uuid)).is_locked).toBe(true);
    const locked = await refusal(client.deleteBackup("srv-1", uuid));
    expect(locked.HTML_STATUS).toBe(400);
    expect(locked.ERRORS).toEqual(["Cannot delete a locked backup."]);
    expect((await client.toggleLockBackup("srv-1", uuid)).is_locked).toBe(false);

    await writeFile(join(root, "server.properties"), "motd=changed\n");
    await writeFile(join(root, "stray.txt"), "not in the backup");
    expect(await client.restoreBackup("srv-1", uuid, true)).toBe("Sucessfully restored backup");
    const restoring = await client.getServerInfo("srv-1");
    expect((restoring as unknown as { status: unknown }).status).toBe("restoring_backup");
    await (await open(release, "w")).close();
    await logged("server:backup.restore-complete", uuid);
    // The client learns the end from the status, as it would from the panel.
    let status: unknown = "restoring_backup";
    while (status !== null)
      status = ((await client.getServerInfo("srv-1")) as unknown as { status: unknown }).status;
    expect(await readFile(join(root, "server.properties"), "utf8")).toBe("motd=hello\n");
    await expect(access(join(root, "stray.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    // Ignored by the backup, so not in it: a truncating restore removes it.
    expect((await readdir(root)).sort()).toEqual(["server.properties", "world"]);

    expect(await client.deleteBackup("srv-1", uuid)).toBe("Backup successfully deleted!");
    expect(await client.getAllBackups("srv-1")).toEqual([]);
    const gone = await refusal(client.getBackupInfo("srv-1", uuid));
    expect(gone.HTML_STATUS).toBe(404);
    expect(gone.ERRORS).toEqual([`Server srv-1 has no backup ${uuid}.`]);
  });

  it("gets JSON errors the client can read for calls strongbox does not serve", async () => {
    const client = new Client(serve!.origin, TOKEN, undefined, true);
    // Routes of the panel that a backup daemon has no part of: a 404 in the panel's shape, not text.
    const resources = await refusal(client.getServerResources("srv-1"));
    expect(resources.HTML_STATUS).toBe(404);
    expect(resources.ERRORS).toEqual(["The requested resource does not exist."]);
    const wrongKey = await refusal(new Client(serve!.origin, "wrong", undefined, true).testAPI());
    expect(wrongKey.HTML_STATUS).toBe(401);
  });
});
