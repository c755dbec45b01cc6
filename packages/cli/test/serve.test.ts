import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { access, mkdir, open, readdir, readFile, realpath, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { type BackupRecord, createManifestCatalog } from "@strongbox/core";
import { createLocalStorage } from "@strongbox/storage-local";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, runCli } from "./helpers/run-cli.js";
import { jsonLinesUntil, killServe, spawnServe } from "./helpers/serve.js";

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
  await killServe(child);
  child = undefined;
  await temp.remove();
});

/** Starts `strongbox serve` on a free port and resolves with its address once it listens. */
async function serve(extra: string[] = []) {
  const running = await spawnServe([
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
  child = running.child;
  return running;
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

/** The activity log's events, once one matches `predicate`. */
function logUntil(predicate: (event: { event: string; backup: string }) => boolean) {
  return jsonLinesUntil(log, (events) => events.some(predicate));
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

describe("strongbox serve --replica", () => {
  it("copies each backup to the replica, trims it by its own rules, and downloads from it when the primary lost one", async () => {
    const replica = join(temp.path, "replica");
    const { origin } = await serve(["--replica", replica, "--replica-keep-last", "1"]);
    const uuids: string[] = [];
    for (const name of ["first", "second"]) {
      const created = await api(origin, "/api/client/servers/srv-1/backups", {
        method: "POST",
        body: JSON.stringify({ name }),
      });
      const uuid = (await body(created)).attributes.uuid as string;
      await logUntil((event) => event.event === "server:backup.replicate" && event.backup === uuid);
      uuids.push(uuid);
    }
    const [first, second] = uuids as [string, string];

    const shown = async (uuid: string) =>
      (await body(api(origin, `/api/client/servers/srv-1/backups/${uuid}`))).attributes;
    expect((await shown(first)).copies).toMatchObject([{ disk: "local", state: "removed" }]);
    const record = await shown(second);
    expect(record.copies).toMatchObject([{ disk: "local", state: "copied" }]);
    // The replica is a store of its own: the CLI lists it as any storage.
    const listed = await runCli(["list", "--storage", replica, "--server", "srv-1", "--json"]);
    expect(
      JSON.parse(listed.stdout).data.map((item: { attributes: { uuid: string } }) => item.attributes.uuid),
    ).toEqual([second]);

    await createLocalStorage({ root: storage }).delete(`srv-1/${second}.tar.gz`);
    const link = await body(api(origin, `/api/client/servers/srv-1/backups/${second}/download`));
    expect(link.attributes.url.startsWith(`${origin}/replica/download/backup?token=`)).toBe(true);
    const archive = Buffer.from(await (await fetch(link.attributes.url)).arrayBuffer());
    expect(`sha256:${createHash("sha256").update(archive).digest("hex")}`).toBe(record.checksum);
    const events = await logUntil((event) => event.event === "server:backup.download");
    expect(events.find((event) => event.event === "server:backup.download").properties).toEqual({
      name: "second",
      source: "replica",
      reason: "the archive is missing from the primary storage",
    });
  });

  it.each([
    [["--replica-keep-last", "1"], /serve: the --replica-keep-\* rules need --replica <URL>/],
    [
      ["--replica", "elsewhere", "--replica-keep-last", "0"],
      /--replica-keep-last must be a whole number of at least 1/,
    ],
    [["--replica", "elsewhere", "--replica-keep-within", "soon"], /--replica-keep-within/],
  ])("refuses %j with one line and exit code 2", async (flags, reason) => {
    const run = await runCli(["serve", "--storage", storage, "--servers-root", servers, ...flags]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(reason);
  });
});

/**
 * A hook program: appends `{label, args, cwd, env}` (env: the `STRONGBOX_*` variables) to the log named
 * by its first argument. Label `refuse` then fails as a save-off that cannot save would; `block` waits
 * until it is stopped and logs the signal.
 */
const RECORDER = `import { appendFileSync } from "node:fs";
const [log, label, ...args] = process.argv.slice(2);
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith("STRONGBOX_")));
const write = (extra) => appendFileSync(log, JSON.stringify({ label, args, cwd: process.cwd(), env, ...extra }) + "\\n");
if (label === "block") {
  process.on("SIGTERM", () => { write({ stopped: "SIGTERM" }); process.exit(0); });
  setInterval(() => {}, 1000);
}
write({});
if (label === "refuse") {
  process.stderr.write("save-off refused:\\nworld is locked\\n");
  process.exit(1);
}
`;

describe("strongbox serve --hooks", () => {
  let hookLog: string;
  let hooksFile: string;
  let recorder: string;

  beforeEach(async () => {
    hookLog = join(temp.path, "hooks.jsonl");
    hooksFile = join(temp.path, "hooks.json");
    recorder = join(temp.path, "recorder.mjs");
    await writeFile(hookLog, "");
    await writeFile(recorder, RECORDER);
  });

  /** Writes the hooks file: each hook runs the recorder with `label` and every placeholder. */
  async function useHooks(labels: Record<string, string>) {
    const hooks = Object.fromEntries(
      Object.entries(labels).map(([hook, label]) => [
        hook,
        [process.execPath, recorder, hookLog, label, "{server}", "{backup}", "{name}", "{dir}"],
      ]),
    );
    await writeFile(hooksFile, JSON.stringify(hooks));
  }

  async function createBackup(origin: string, request: Record<string, unknown>, server = "srv-1") {
    const created = await api(origin, `/api/client/servers/${server}/backups`, {
      method: "POST",
      body: JSON.stringify(request),
    });
    expect(created.status).toBe(200);
    return (await body(created)).attributes.uuid as string;
  }

  /** The hook runs logged for `uuid`, once the after-hook's is there. */
  async function hookRuns(uuid: string) {
    const runs = await jsonLinesUntil(hookLog, (lines) =>
      lines.some((line) => line.label === "after" && line.args[1] === uuid),
    );
    return runs.filter((run) => run.args[1] === uuid);
  }

  it("runs the commands around a backup with names from requests as plain arguments, never through a shell", async () => {
    await useHooks({ beforeBackup: "before", afterBackup: "after" });
    // One server per name: a server stays busy until its after-hook has exited.
    await mkdir(join(servers, "srv-2"));
    const { origin, exited } = await serve(["--hooks", hooksFile]);
    const pwned = [join(temp.path, `pwned-${randomUUID()}`), join(temp.path, `pwned-${randomUUID()}`)];
    const names = { "srv-1": `"; touch ${pwned[0]} #`, "srv-2": `$(id) $(touch ${pwned[1]}) \`id\`` };
    for (const [server, name] of Object.entries(names)) {
      const dir = join(servers, server);
      const uuid = await createBackup(origin, { name }, server);
      const told = {
        STRONGBOX_SERVER: server,
        STRONGBOX_SERVER_DIR: dir,
        STRONGBOX_BACKUP: uuid,
        STRONGBOX_BACKUP_NAME: name,
      };
      const run = { args: [server, uuid, name, dir], cwd: await realpath(dir) };
      expect(await hookRuns(uuid)).toEqual([
        { label: "before", ...run, env: { STRONGBOX_HOOK: "beforeBackup", ...told } },
        {
          label: "after",
          ...run,
          env: { STRONGBOX_HOOK: "afterBackup", STRONGBOX_OUTCOME: "success", ...told },
        },
      ]);
      const record = (await body(api(origin, `/api/client/servers/${server}/backups/${uuid}`))).attributes;
      expect(record).toMatchObject({ name, is_successful: true });
    }
    for (const path of pwned) await expect(access(path)).rejects.toMatchObject({ code: "ENOENT" });
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("fails the backup when a before-hook fails, with its stderr, and still runs the after-hook", async () => {
    await useHooks({ beforeBackup: "refuse", afterBackup: "after" });
    const { origin } = await serve(["--hooks", hooksFile]);
    const uuid = await createBackup(origin, { name: "nightly" });
    const [before, after] = await hookRuns(uuid);
    expect(before.label).toBe("refuse");
    const record = (await body(api(origin, `/api/client/servers/srv-1/backups/${uuid}`))).attributes;
    expect(record).toMatchObject({ is_successful: false, checksum: null });
    expect(record.completed_at).not.toBeNull();
    expect(await filesUnder(storage)).toEqual([`srv-1/${uuid}.json`]);
    const stored = JSON.parse(await readFile(join(storage, "srv-1", `${uuid}.json`), "utf8"));
    expect(stored.error).toMatch(
      /^The beforeBackup hook failed: ".*node" exited with code 1: save-off refused: world is locked/,
    );
    expect(after.env).toMatchObject({ STRONGBOX_OUTCOME: "failure", STRONGBOX_ERROR: stored.error });
  });

  it("stops a running before-hook when serve is stopped; the after-hook is told the backup was cancelled", async () => {
    await useHooks({ beforeBackup: "block", afterBackup: "after" });
    const { origin, exited } = await serve(["--hooks", hooksFile]);
    const uuid = await createBackup(origin, {});
    await jsonLinesUntil(hookLog, (lines) => lines.some((line) => line.label === "block"));
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
    const runs = (await readFile(hookLog, "utf8"))
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line));
    expect(runs.map((run) => [run.label, run.stopped, run.env.STRONGBOX_OUTCOME])).toEqual([
      ["block", undefined, undefined],
      ["block", "SIGTERM", undefined],
      ["after", undefined, "failure"],
    ]);
    const stored = JSON.parse(await readFile(join(storage, "srv-1", `${uuid}.json`), "utf8"));
    expect(stored).toMatchObject({ is_successful: false, error: "cancelled" });
  });

  it("refuses a hooks file that is not JSON, and a bad rate limit, with one line and exit code 2", async () => {
    await writeFile(hooksFile, '{"beforeBackup": ["save-off",]}');
    const base = ["serve", "--storage", storage, "--servers-root", servers, "--port", "0"];
    const [badHooks, badRate] = await Promise.all([
      runCli([...base, "--hooks", hooksFile]),
      runCli([...base, "--rate-limit", "fast"]),
    ]);
    expect(badHooks).toMatchObject({ code: 2, stdout: "" });
    expect(badHooks.stderr).toMatch(
      /^strongbox: serve: the --hooks file ".*hooks\.json" is not valid JSON: [^\n]+\n$/,
    );
    expect(badRate).toMatchObject({ code: 2, stdout: "" });
    expect(badRate.stderr).toMatch(/^strongbox: serve: --rate-limit "fast" is not a rate[^\n]+\n$/);
  });
});

describe("strongbox serve --rate-limit", () => {
  it("serves under a shared rate limit, and restores keeping ignored files when asked", async () => {
    const root = join(servers, "srv-1");
    await writeFile(join(root, "latest.log"), "log at backup time");
    const first = await serve(["--rate-limit", "50M"]);
    const created = await api(first.origin, "/api/client/servers/srv-1/backups", {
      method: "POST",
      body: JSON.stringify({ ignored: "*.log" }),
    });
    const uuid = (await body(created)).attributes.uuid as string;
    await logUntil((event) => event.event === "server:backup.complete" && event.backup === uuid);
    // A restart, rather than a race with the moment the server is free again after its backup.
    child!.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    await writeFile(join(root, "latest.log"), "log now");
    await writeFile(join(root, "plugin.jar"), "added since");

    const { origin, exited } = await serve(["--rate-limit", "512k"]);
    const restore = await api(origin, `/api/client/servers/srv-1/backups/${uuid}/restore`, {
      method: "POST",
      body: JSON.stringify({ truncate: true, keep_ignored: true }),
    });
    expect(restore.status).toBe(204);
    await logUntil((event) => event.event === "server:backup.restore-complete" && event.backup === uuid);
    expect(await filesUnder(root)).toEqual(["latest.log", "server.properties"]);
    expect(await readFile(join(root, "latest.log"), "utf8")).toBe("log now");
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});

describe("strongbox serve --max-concurrent", () => {
  it("queues backups beyond the limit (200, in progress) and runs them all", async () => {
    await mkdir(join(servers, "srv-2"), { recursive: true });
    await writeFile(join(servers, "srv-2", "world.dat"), "level");
    const { origin } = await serve(["--max-concurrent", "1"]);
    const created = await Promise.all(
      ["srv-1", "srv-2", "srv-1"].map((server) =>
        api(origin, `/api/client/servers/${server}/backups`, { method: "POST", body: "{}" }),
      ),
    );
    expect(created.map((response) => response.status)).toEqual([200, 200, 200]);
    const uuids = await Promise.all(created.map(async (response) => (await body(response)).attributes.uuid));
    await jsonLinesUntil(
      log,
      (lines) => lines.filter((line) => line.event === "server:backup.complete").length === 3,
    );
    for (const [index, server] of ["srv-1", "srv-2", "srv-1"].entries()) {
      const record = await body(api(origin, `/api/client/servers/${server}/backups/${uuids[index]}`));
      expect(record.attributes).toMatchObject({ is_successful: true, completed_at: expect.any(String) });
    }
  });

  it("refuses a limit below 1 with one line and exit code 2", async () => {
    const run = await runCli([
      "serve",
      "--storage",
      storage,
      "--servers-root",
      servers,
      "--max-concurrent",
      "0",
    ]);
    expect(run).toMatchObject({ code: 2, stdout: "" });
    expect(run.stderr).toMatch(
      /^strongbox: serve: --max-concurrent must be a whole number of at least 1, not "0"\.\n$/,
    );
  });
});

describe("strongbox serve --verify-new", () => {
  it("reads every new backup back once written: the event is logged and the API shows it passed", async () => {
    const { origin, exited } = await serve(["--verify-new", "--verify-schedule", "30 4 * * *"]);
    const created = await api(origin, "/api/client/servers/srv-1/backups", { method: "POST" });
    const uuid = (await body(created)).attributes.uuid as string;

    const events = await logUntil((event) => event.event === "server:backup.verify" && event.backup === uuid);

    expect(events.map((event) => event.event)).toEqual([
      "server:backup.start",
      "server:backup.complete",
      "server:backup.verify",
    ]);
    const record = (await body(api(origin, `/api/client/servers/srv-1/backups/${uuid}`))).attributes;
    expect(record).toMatchObject({ is_successful: true, verification: "passed" });
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("refuses a sample that is neither a count nor a share, and a sample without a schedule, with exit code 2", async () => {
    const base = ["serve", "--storage", storage, "--servers-root", servers, "--port", "0"];
    const [badShare, alone] = await Promise.all([
      runCli([...base, "--verify-schedule", "@daily", "--verify-sample", "150%"]),
      runCli([...base, "--verify-sample", "5"]),
    ]);
    expect(badShare).toMatchObject({ code: 2, stdout: "" });
    expect(badShare.stderr).toMatch(
      /^strongbox: serve: --verify-sample must be a count [^\n]+not "150%"\.\n$/,
    );
    expect(alone).toMatchObject({ code: 2, stdout: "" });
    expect(alone.stderr).toBe("strongbox: serve: --verify-sample needs --verify-schedule.\n");
  });
});
