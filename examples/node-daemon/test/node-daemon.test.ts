import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { jsonLines, spawnExample, tempFolder } from "../../test-support/run-example.js";

const ALL = ["backup.create", "backup.read", "backup.download", "backup.restore", "backup.delete"];
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
/** A response's JSON body, read field by field. */
// biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies field by field
const body = async (response: Response | Promise<Response>): Promise<any> => (await response).json();
let work: Awaited<ReturnType<typeof tempFolder>>;
let daemon: ReturnType<typeof spawnExample> | undefined;

beforeEach(async () => {
  work = await tempFolder("example-daemon");
  for (const id of ["srv-1", "srv-2", "srv-3"]) {
    await mkdir(join(work.path, "servers", id), { recursive: true });
    await writeFile(join(work.path, "servers", id, "data.txt"), `${id} data`);
  }
  await writeFile(
    join(work.path, "daemon.json"),
    JSON.stringify({
      servers: {
        "srv-1": { state: "offline", backupLimit: 2 },
        "srv-2": { state: "installing", backupLimit: 2 },
        "srv-3": { state: "offline", backupLimit: 2 },
      },
      keys: {
        [sha256("alice-key")]: { user: "alice", servers: ["srv-1", "srv-2"], permissions: ALL },
        [sha256("bob-key")]: { user: "bob", servers: ["srv-1"], permissions: ["backup.read"] },
      },
    }),
  );
});
afterEach(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill("SIGKILL");
    await once(daemon, "exit");
  }
  await work.remove();
});

it("serves the API with its own keys, server access and server states", async () => {
  daemon = spawnExample("node-daemon", [work.path], { PORT: "0" });
  const child = daemon;
  let stdout = "";
  const seen: (() => void)[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const wake of seen.splice(0)) wake();
  });
  /** Resolves once stdout holds a line matching `pattern`. */
  const stdoutLine = async (pattern: RegExp) => {
    while (!pattern.test(stdout)) await new Promise<void>((wake) => seen.push(wake));
    return pattern.exec(stdout)!;
  };
  const origin = (await stdoutLine(/Listening on (\S+)/))[1]!;
  const call = (key: string, method: string, path: string, body?: unknown) =>
    fetch(`${origin}/api/client/servers/${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  expect((await call("nobody-key", "GET", "srv-1/backups")).status).toBe(401);
  expect((await call("bob-key", "GET", "srv-2/backups")).status).toBe(404);
  expect((await call("alice-key", "GET", "srv-3/backups")).status).toBe(404);
  expect((await call("bob-key", "POST", "srv-1/backups", {})).status).toBe(403);
  const limits = await body(call("bob-key", "GET", "srv-1"));
  expect(limits.attributes.feature_limits.backups).toBe(2);

  const backups: Record<string, string> = {};
  for (const server of ["srv-1", "srv-2"]) {
    const created = await call("alice-key", "POST", `${server}/backups`, { name: `${server} backup` });
    expect(created.status).toBe(200);
    backups[server] = (await body(created)).attributes.uuid as string;
    await stdoutLine(
      new RegExp(`"server:backup.complete","server":"${server}","backup":"${backups[server]}"`),
    );
  }
  // Restores come after both backups: a server stays busy a moment after its backup.complete event
  // (the manager applies retention before freeing it), and a restore then would be refused.
  const restore = await call("alice-key", "POST", `srv-1/backups/${backups["srv-1"]}/restore`, {
    truncate: false,
  });
  expect(restore.status).toBe(204);
  await stdoutLine(/server:backup.restore-complete/);
  const refused = await call("alice-key", "POST", `srv-2/backups/${backups["srv-2"]}/restore`, {
    truncate: true,
  });
  expect(refused.status).toBe(400);
  expect((await body(refused)).errors[0].detail).toBe(
    "This server is not currently in a state that allows for a backup to be restored.",
  );
  const list = await body(call("bob-key", "GET", "srv-1/backups"));
  expect(list.data[0].attributes.is_successful).toBe(true);

  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  expect(code).toBe(0);
  const events = jsonLines(stdout).map((line) => line.activity as { event: string; actor: string });
  expect(events.every((event) => event.actor === "alice")).toBe(true);
});
