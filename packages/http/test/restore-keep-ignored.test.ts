import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startApi, type TestApi, writeFiles } from "./helpers/api-server.js";

const BACKUPS = "/api/client/servers/srv-1/backups";
let api: TestApi;
let root: string;

beforeEach(async () => {
  api = await startApi();
  root = join(api.serversRoot, "srv-1");
  await writeFiles(root, { "server.properties": "motd=backup\n", "logs/latest.log": "log at backup time" });
});
afterEach(() => api.close());

/** A finished backup of srv-1 that leaves out `*.log`, then the folder as the server left it later. */
async function backupThenChange(): Promise<string> {
  const created = await api.call("POST", BACKUPS, { body: { ignored: "*.log" } });
  expect(created.status).toBe(200);
  const uuid: string = created.json.attributes.uuid;
  expect((await api.manager.wait("srv-1", uuid)).is_successful).toBe(true);
  await writeFiles(root, {
    "server.properties": "motd=changed\n",
    "logs/latest.log": "log now",
    "plugins/new.jar": "added since",
  });
  return uuid;
}

async function restore(uuid: string, body: Record<string, unknown>, nth: number) {
  const answer = await api.call("POST", `${BACKUPS}/${uuid}/restore`, { body });
  expect(answer.status, answer.raw.toString()).toBe(204);
  await api.event("server:backup.restore-complete", uuid, nth);
}

async function filesOf(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1))
    .sort();
}

describe("POST .../restore keep_ignored", () => {
  it("keeps the files the backup's rules left out on a truncate restore, and drops them without it", async () => {
    const uuid = await backupThenChange();
    await restore(uuid, { truncate: true, keep_ignored: true }, 1);
    expect(await filesOf(root)).toEqual(["logs/latest.log", "server.properties"]);
    expect(await readFile(join(root, "logs/latest.log"), "utf8")).toBe("log now");
    expect(await readFile(join(root, "server.properties"), "utf8")).toBe("motd=backup\n");

    await restore(uuid, { truncate: true }, 2);
    expect(await filesOf(root)).toEqual(["server.properties"]);
  });

  it("refuses a keep_ignored that is not a boolean, before anything starts", async () => {
    const uuid = await backupThenChange();
    const answer = await api.call("POST", `${BACKUPS}/${uuid}/restore`, {
      body: { truncate: true, keep_ignored: "yes" },
    });
    expect(answer.status).toBe(422);
    expect(answer.json.errors[0].detail).toMatch(/keep ignored field must be true or false/);
    expect(api.events.some((event) => event.event === "server:backup.restore")).toBe(false);
    expect(await readFile(join(root, "plugins/new.jar"), "utf8")).toBe("added since");
  });
});
