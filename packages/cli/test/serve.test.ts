import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { watch } from "node:fs";
import { mkdir, open, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { type BackupRecord, createManifestCatalog } from "@strongbox/core";
import { createLocalStorage } from "@strongbox/storage-local";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, runCli, spawnCli } from "./helpers/run-cli.js";

const TOKEN = "serve-test-token";
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let servers: string;
let storage: string;
let log: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  temp = await makeTempDir();
  servers = join(temp.path, "servers");
  storage = join(temp.path, "storage");
  log = join(temp.path, "activity.jsonl");
  await mkdir(join(servers, "srv-1"), { recursive: true });
  await writeFile(join(servers, "srv-1", "server.properties"), "motd=hello\n");
  await writeFile(log, "");
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
  child = undefined;
  await temp.remove();
});

/** Starts `strongbox serve` on a free port and resolves with its address once it listens. */
async function serve(extra: string[] = []) {
  child = spawnCli([
    "serve",
    "--storage",
    storage,
    "--servers-root",
    servers,
    "--port",
    "0",
    "--token",
    TOKEN,
    "--activity-log",
    log,
    ...extra,
  ]);
  const running = child;
  let stderr = "";
  running.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  let stdout = "";
  const origin = await new Promise<string>((resolve, reject) => {
    running.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = /Listening on (\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    running.once("exit", (code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => {
    if (running.exitCode !== null) resolve(running.exitCode);
    else running.once("exit", (code) => resolve(code));
  });
  return { origin, exited, stderr: () => stderr };
}

function api(origin: string, path: string, init: RequestInit & { token?: string | null } = {}) {
  const token = init.token === undefined ? TOKEN : init.token;
  return fetch(`${origin}${path}`, {
    ...init,
    headers: {
      ...(token !== null && { authorization: `Bearer ${token}` }),
      "content-type": "application/json",
    },
  });
}

/** A response's JSON body, read field by field. */
// biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies field by field
async function body(response: Response | Promise<Response>): Promise<any> {
  return (await response).json();
}

/** The activity log's events, once one matches `predicate` (the file is watched, not polled). */
async function logUntil(predicate: (event: { event: string; backup: string }) => boolean) {
  const watcher = watch(log);
  try {
    for (;;) {
      const events = (await readFile(log, "utf8"))
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line));
      if (events.some(predicate)) return events;
      await once(watcher, "change");
    }
  } finally {
    watcher.close();
  }
}

/** Every file under `root`, relative, sorted. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

describe("strongbox serve", () => {
  it("serves the API over the servers folder, with downloads, limits and an activity log", async () => {
    const { origin, exited } = await serve(["--backup-limit", "2"]);
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await api(origin, "/api/client/servers/srv-1/backups", { token: null })).status).toBe(401);
    expect((await api(origin, "/api/client/servers/missing/backups")).status).toBe(404);
    const limits = await body(api(origin, "/api/client/servers/srv-1"));
    expect(limits.attributes.feature_limits).toEqual({ backups: 2 });

    const created = await api(origin, "/api/client/servers/srv-1/backups", {
      method: "POST",
      body: JSON.stringify({ name: "From serve" }),
    });
    expect(created.status).toBe(200);
    const uuid = (await body(created)).attributes.uuid as string;
    const events = await logUntil(
      (event) => event.event === "server:backup.complete" && event.backup === uuid,
    );
    expect(events.map((event) => [event.event, event.actor])).toEqual([
      ["server:backup.start", "token"],
      ["server:backup.complete", "token"],
    ]);

    const record = (await body(api(origin, `/api/client/servers/srv-1/backups/${uuid}`))).attributes;
    expect(record.is_successful).toBe(true);
    const link = await body(api(origin, `/api/client/servers/srv-1/backups/${uuid}/download`));
    expect(link.attributes.url.startsWith(`${origin}/download/backup?token=`)).toBe(true);
    const archive = Buffer.from(await (await fetch(link.attributes.url)).arrayBuffer());
    expect(`sha256:${createHash("sha256").update(archive).digest("hex")}`).toBe(record.checksum);

    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("cancels a running backup on SIGTERM: the record is failed and no archive or temp file is left", async () => {
    // A 1 GiB sparse file: free to make, long enough to pack that the signal lands mid-backup.
    const big = await open(join(servers, "srv-1", "world.dat"), "w");
    await big.truncate(1024 ** 3);
    await big.close();
    const { origin, exited } = await serve();
    const created = await api(origin, "/api/client/servers/srv-1/backups", { method: "POST", body: "{}" });
    // The answer comes once the in-progress record is stored.
    expect(created.status).toBe(200);
    const uuid = (await body(created)).attributes.uuid as string;
    expect(await filesUnder(storage)).toContain(`srv-1/${uuid}.json`);
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);

    expect(await filesUnder(storage)).toEqual([`srv-1/${uuid}.json`]);
    const record = JSON.parse(await readFile(join(storage, "srv-1", `${uuid}.json`), "utf8"));
    expect(record).toMatchObject({ uuid, is_successful: false, checksum: null, error: "cancelled" });
    expect(record.completed_at).not.toBeNull();
    const lines = (await readFile(log, "utf8")).split("\n").filter((line) => line !== "");
    expect(lines.map((line) => JSON.parse(line).event)).toEqual([
      "server:backup.start",
      "server:backup.fail",
    ]);
  });

  it("marks failed, on start, a backup left in progress by a process that is gone", async () => {
    const gone = spawn(process.execPath, ["-e", ""]);
    await once(gone, "exit");
    const record: BackupRecord = {
      uuid: "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e",
      server: "srv-1",
      name: "interrupted",
      ignored_files: [],
      checksum: null,
      bytes: 0,
      is_successful: false,
      is_locked: false,
      created_at: "2025-01-15T10:30:00+00:00",
      completed_at: null,
      disk: "local",
      owner: { host: hostname(), pid: gone.pid!, heartbeat_at: new Date().toISOString() },
    };
    await createManifestCatalog(createLocalStorage({ root: storage })).put(record);
    const { origin, stderr } = await serve();
    expect(stderr()).toContain("marked 1 interrupted backup(s) failed");
    const answer = await body(api(origin, `/api/client/servers/srv-1/backups/${record.uuid}`));
    expect(answer.attributes.is_successful).toBe(false);
    expect(answer.attributes.completed_at).not.toBeNull();
  });

  it("refuses a command line without the servers folder", async () => {
    const run = await runCli(["serve", "--storage", storage]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("serve: missing --servers-root");
  });
});
