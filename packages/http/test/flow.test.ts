import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startApi, type TestApi, writeFiles } from "./helpers/api-server.js";

const BACKUPS = "/api/client/servers/srv-1/backups";
let api: TestApi;

beforeEach(async () => {
  api = await startApi({ maxBackups: 3 });
  await writeFiles(join(api.serversRoot, "srv-1"), {
    "server.properties": "motd=hello\n",
    "world/level.dat": "level",
    "logs/latest.log": "noise",
  });
});
afterEach(() => api.close());

describe("the panel's backup flow over HTTP", () => {
  it("creates, polls, lists, locks, downloads, restores and deletes", async () => {
    const created = await api.call("POST", BACKUPS, {
      body: {
        name: "Pre-Update Backup",
        is_locked: false,
        ignored: "*.log\nnode_modules/\ncache/",
        extra: 1,
      },
    });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({
      object: "backup",
      attributes: {
        uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: "Pre-Update Backup",
        ignored_files: ["*.log", "node_modules/", "cache/"],
        checksum: null,
        bytes: 0,
        is_successful: false,
        is_locked: false,
        // The seed's form: whole seconds, which PHP's DATE_ATOM parsing accepts.
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/),
        completed_at: null,
      },
    });
    const uuid: string = created.json.attributes.uuid;
    const path = `${BACKUPS}/${uuid}`;

    // Poll as a panel does: each look waits for the next thing the engine reports.
    let record = (await api.call("GET", path)).json.attributes;
    while (record.completed_at === null) {
      await api.event("server:backup.complete", uuid);
      record = (await api.call("GET", path)).json.attributes;
    }
    expect(record.is_successful).toBe(true);
    expect(record.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The record keeps its milliseconds (they order backups made within one second); the API drops them.
    const stored = await api.manager.get("srv-1", uuid);
    expect(stored.created_at).toMatch(/\.\d{3}\+00:00$/);
    expect(record.created_at).toBe(stored.created_at.replace(/\.\d{3}\+00:00$/, "+00:00"));
    expect(record.completed_at).toBe(stored.completed_at!.replace(/\.\d{3}\+00:00$/, "+00:00"));
    expect(record.bytes).toBeGreaterThan(0);
    // The record turns complete a moment before the manager frees the server (the manifest is written,
    // then its folder fsynced): a create in that moment would get 409.
    await api.manager.wait("srv-1", uuid);

    await api.backup("srv-1", { name: "second" });
    const page = await api.call("GET", `${BACKUPS}?per_page=1&page=2`);
    expect(page.status).toBe(200);
    expect(page.json.object).toBe("list");
    expect(page.json.data.map((item: { attributes: { uuid: string } }) => item.attributes.uuid)).toEqual([
      uuid,
    ]);
    expect(page.json.meta).toEqual({
      pagination: { total: 2, count: 1, per_page: 1, current_page: 2, total_pages: 2 },
      backup_count: 2,
    });

    const locked = await api.call("POST", `${path}/lock`);
    expect(locked.status).toBe(200);
    expect(locked.json.attributes).toMatchObject({ uuid, is_locked: true });
    const refused = await api.call("DELETE", path);
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual({
      errors: [{ code: "BadRequestHttpException", status: "400", detail: "Cannot delete a locked backup." }],
    });
    const unlocked = await api.call("POST", `${path}/lock`);
    expect(unlocked.json.attributes.is_locked).toBe(false);

    const link = await api.call("GET", `${path}/download`);
    expect(link.status).toBe(200);
    expect(link.json.object).toBe("signed_url");
    expect(link.json.attributes.url).toMatch(new RegExp(`^${api.origin}/download/backup\\?token=`));
    const archive = await api.fetchUrl(link.json.attributes.url);
    expect(archive.status).toBe(200);
    expect(`sha256:${createHash("sha256").update(archive.raw).digest("hex")}`).toBe(record.checksum);
    expect(archive.raw.length).toBe(record.bytes);

    const root = join(api.serversRoot, "srv-1");
    await writeFile(join(root, "server.properties"), "motd=changed\n");
    await writeFile(join(root, "stray.txt"), "new");
    const merge = await api.call("POST", `${path}/restore`, { body: { truncate: false } });
    expect(merge.status).toBe(204);
    expect(merge.raw.length).toBe(0);
    await api.event("server:backup.restore-complete", uuid);
    expect(await readFile(join(root, "server.properties"), "utf8")).toBe("motd=hello\n");
    expect((await readdir(root)).sort()).toEqual(["logs", "server.properties", "stray.txt", "world"]);

    const truncate = await api.call("POST", `${path}/restore`, { body: { truncate: true } });
    expect(truncate.status).toBe(204);
    await api.event("server:backup.restore-complete", uuid, 2);
    // *.log was ignored by the backup: truncate leaves logs/ empty and removes the stray file.
    expect((await readdir(root)).sort()).toEqual(["logs", "server.properties", "world"]);
    expect(await readdir(join(root, "logs"))).toEqual([]);

    const deleted = await api.call("DELETE", path);
    expect(deleted.status).toBe(204);
    expect((await api.call("GET", path)).status).toBe(404);
    expect((await api.call("GET", BACKUPS)).json.meta.backup_count).toBe(1);

    const names = api.events.filter((e) => e.backup === uuid).map((e) => e.event);
    expect(names).toEqual([
      "server:backup.start",
      "server:backup.complete",
      "server:backup.lock",
      "server:backup.unlock",
      "server:backup.download",
      "server:backup.restore",
      "server:backup.restore-complete",
      "server:backup.restore",
      "server:backup.restore-complete",
      "server:backup.delete",
    ]);
    expect(api.events.filter((e) => e.backup === uuid).every((e) => e.actor === "admin")).toBe(true);
  });

  it("reports the server's backup limit", async () => {
    const answer = await api.call("GET", "/api/client/servers/srv-1");
    expect(answer.status).toBe(200);
    expect(answer.json.attributes.feature_limits).toEqual({ backups: 3 });
  });

  it("accepts ignored as an array and returns it as ignored_files", async () => {
    const uuid = await api.backup("srv-1", { ignored: ["*.log", "", "# comment", "world/"] });
    const record = (await api.call("GET", `${BACKUPS}/${uuid}`)).json.attributes;
    expect(record.ignored_files).toEqual(["*.log", "world/"]);
    expect(record.is_successful).toBe(true);
  });

  it("caps per_page at 50, as the panel does", async () => {
    const answer = await api.call("GET", `${BACKUPS}?per_page=500`);
    expect(answer.status).toBe(200);
    expect(answer.json.meta.pagination).toMatchObject({ per_page: 50, current_page: 1, total: 0 });
  });
});
