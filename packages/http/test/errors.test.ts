import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { panelError, startApi, type TestApi, TOKENS, until, writeFiles } from "./helpers/api-server.js";

const BACKUPS = "/api/client/servers/srv-1/backups";
let api: TestApi;
afterEach(() => api.close());

describe("limits and refusals", () => {
  it("answers the panel's TooManyBackupsException at the limit, failed backups included", async () => {
    api = await startApi({ maxBackups: 2 });
    await writeFiles(join(api.serversRoot, "srv-1"), { "a.txt": "a" });
    await api.backup();
    await api.backup();
    const refused = await api.call("POST", BACKUPS, { body: {} });
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual(
      panelError(400, "TooManyBackupsException", "This server has reached its backup limit."),
    );
    expect((await api.call("GET", BACKUPS)).json.meta.backup_count).toBe(2);
  });

  it("answers 429 with Retry-After when throttled", async () => {
    api = await startApi({ throttle: { limit: 1, periodMs: 600_000 } });
    await api.backup();
    const refused = await api.call("POST", BACKUPS, { body: {} });
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual(panelError(429, "TooManyRequestsHttpException", /try again in/));
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("refuses a restore in a state that allows none with the panel's 400", async () => {
    api = await startApi();
    const uuid = await api.backup("srv-installing");
    const refused = await api.call("POST", `/api/client/servers/srv-installing/backups/${uuid}/restore`, {
      body: { truncate: true },
    });
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual(
      panelError(
        400,
        "BadRequestHttpException",
        "This server is not currently in a state that allows for a backup to be restored.",
      ),
    );
    expect(api.events.some((event) => event.event === "server:backup.restore")).toBe(false);
  });

  it("queues a second backup while one runs (200, in progress), answers 400 to a restore then, and 404 to an unknown one", async () => {
    let gate = Promise.resolve();
    let release!: () => void;
    api = await startApi({}, () => gate);
    const done = await api.backup();
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // This create holds the server until released; the others arrive meanwhile.
    const first = api.call("POST", BACKUPS, { body: {} });
    await until(() => api.manager.isBusy("srv-1"));
    const again = api.call("POST", BACKUPS, { body: {} });
    const restore = await api.call("POST", `${BACKUPS}/${done}/restore`, { body: { truncate: false } });
    const unknown = "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e";
    const missing = await api.call("POST", `${BACKUPS}/${unknown}/restore`, { body: { truncate: false } });
    expect(restore.status).toBe(400);
    expect(restore.json).toEqual(panelError(400, "BadRequestHttpException", /is being backed up/));
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual(
      panelError(404, "NotFoundHttpException", `Server srv-1 has no backup ${unknown}.`),
    );
    release();
    const [started, queued] = await Promise.all([first, again]);
    expect([started.status, queued.status]).toEqual([200, 200]);
    expect(queued.json.attributes).toMatchObject({ completed_at: null, is_successful: false });
    expect((await api.manager.wait("srv-1", started.json.attributes.uuid)).is_successful).toBe(true);
    expect((await api.manager.wait("srv-1", queued.json.attributes.uuid)).is_successful).toBe(true);
  });

  it("refuses to restore or download a backup that failed", async () => {
    api = await startApi();
    const created = await api.call("POST", BACKUPS, { body: {} });
    const uuid = created.json.attributes.uuid as string;
    const failed = await api.manager.cancel("srv-1", uuid);
    expect(failed.is_successful).toBe(false);
    const restore = await api.call("POST", `${BACKUPS}/${uuid}/restore`, { body: { truncate: true } });
    expect(restore.status).toBe(400);
    expect(restore.json.errors[0].code).toBe("BadRequestHttpException");
    const download = await api.call("GET", `${BACKUPS}/${uuid}/download`);
    expect(download.status).toBe(400);
  });

  it("answers 404 for an unknown server, backup or route", async () => {
    api = await startApi();
    const unknownServer = await api.call("GET", "/api/client/servers/nope/backups");
    expect(unknownServer.status).toBe(404);
    expect(unknownServer.json).toEqual(
      panelError(404, "NotFoundHttpException", "The requested server does not exist."),
    );
    const unknownBackup = await api.call("GET", `${BACKUPS}/3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e`);
    expect(unknownBackup.status).toBe(404);
    expect(unknownBackup.json.errors[0].code).toBe("NotFoundHttpException");
    expect((await api.call("GET", `${BACKUPS}/not-a-uuid`)).status).toBe(404);
    expect((await api.call("PUT", BACKUPS)).status).toBe(405);
  });
});

describe("authentication and permissions", () => {
  it("answers 401 without a valid bearer token", async () => {
    api = await startApi();
    for (const token of [null, "wrong-token", ""]) {
      const answer = await api.call("GET", BACKUPS, { token });
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toBe("Bearer");
      expect(answer.json.errors[0].code).toBe("AuthenticationException");
    }
    const basic = await api.call("GET", BACKUPS, { token: null, headers: { authorization: "Basic YTpi" } });
    expect(basic.status).toBe(401);
  });

  it("asks each route for its permission", async () => {
    api = await startApi();
    const uuid = await api.backup();
    const backupPath = `${BACKUPS}/${uuid}`;
    const routes: [string, string, string, unknown?][] = [
      ["GET", "/api/client/servers/srv-1", "backup.read"],
      ["GET", BACKUPS, "backup.read"],
      ["GET", backupPath, "backup.read"],
      ["POST", BACKUPS, "backup.create", {}],
      ["GET", `${backupPath}/download`, "backup.download"],
      ["POST", `${backupPath}/restore`, "backup.restore", { truncate: false }],
      ["POST", `${backupPath}/lock`, "backup.delete"],
      ["DELETE", backupPath, "backup.delete"],
    ];
    const tokenOf: Record<string, string> = {
      "backup.read": TOKENS.read,
      "backup.create": TOKENS.create,
      "backup.download": TOKENS.download,
      "backup.restore": TOKENS.restore,
      "backup.delete": TOKENS.delete,
    };
    for (const [method, path, permission, body] of routes) {
      const denied = await api.call(method, path, { token: TOKENS.none, body });
      expect(denied.status, `${method} ${path}`).toBe(403);
      expect(denied.json).toEqual(
        panelError(
          403,
          "AccessDeniedHttpException",
          `This action is unauthorized: it needs the ${permission} permission.`,
        ),
      );
      const other = Object.values(tokenOf).find((token) => token !== tokenOf[permission])!;
      expect((await api.call(method, path, { token: other, body })).status, `${method} ${path}`).toBe(403);
    }
    // Each allowed in turn, in an order where every call can succeed (lock is toggled twice).
    for (const [method, path, permission, body] of routes) {
      const times = path.endsWith("/lock") ? 2 : 1;
      for (let i = 0; i < times; i++) {
        const allowed = await api.call(method, path, { token: tokenOf[permission], body });
        expect(allowed.status, `${method} ${path}`).toBeLessThan(300);
        if (method === "POST" && path === BACKUPS)
          await api.manager.wait("srv-1", allowed.json.attributes.uuid);
      }
      if (path.endsWith("/restore")) await api.event("server:backup.restore-complete", uuid);
    }
    const actors = api.events.filter((event) => event.backup === uuid).map((event) => event.actor);
    expect(actors).toEqual([
      "admin",
      "admin",
      "downloader",
      "restorer",
      "restorer",
      "deleter",
      "deleter",
      "deleter",
    ]);
  });

  it("lets only backup.delete create a locked backup", async () => {
    api = await startApi();
    const refused = await api.call("POST", BACKUPS, { token: TOKENS.create, body: { is_locked: true } });
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0].code).toBe("AccessDeniedHttpException");
    expect((await api.call("GET", BACKUPS)).json.meta.backup_count).toBe(0);
  });
});

describe("bad bodies", () => {
  const cases: [string, string | undefined, unknown, number, RegExp][] = [
    ["non-JSON", "{name:", undefined, 400, /not valid JSON/],
    ["a JSON array", "[1]", undefined, 400, /must be a JSON object/],
    ["a name that is not a string", undefined, { name: 5 }, 422, /name field must be a string/],
    ["a name over 191 characters", undefined, { name: "x".repeat(192) }, 422, /191 characters/],
    ["is_locked as a word", undefined, { is_locked: "yes" }, 422, /is locked field/],
    ["ignored as a number", undefined, { ignored: 3 }, 422, /ignored field/],
    ["ignored with a non-string line", undefined, { ignored: ["a", 1] }, 422, /ignored field/],
  ];
  for (const [what, rawBody, body, status, detail] of cases) {
    it(`refuses ${what} and creates nothing`, async () => {
      api = await startApi();
      const answer = await api.call("POST", BACKUPS, { ...(rawBody !== undefined && { rawBody }), body });
      expect(answer.status).toBe(status);
      expect(answer.json.errors[0].detail).toMatch(detail);
      expect((await api.call("GET", BACKUPS)).json.meta.backup_count).toBe(0);
      expect(await readdir(api.storageRoot).catch(() => [])).toEqual([]);
    });
  }

  it("accepts a name of exactly 191 characters and ignores unknown fields", async () => {
    api = await startApi();
    const answer = await api.call("POST", BACKUPS, {
      body: { name: "n".repeat(191), disk: "s3", uuid: "x" },
    });
    expect(answer.status).toBe(200);
    expect(answer.json.attributes.name).toBe("n".repeat(191));
    await api.manager.wait("srv-1", answer.json.attributes.uuid);
  });

  it("refuses a restore whose truncate is not a boolean, and a bad per_page", async () => {
    api = await startApi();
    const uuid = await api.backup();
    const answer = await api.call("POST", `${BACKUPS}/${uuid}/restore`, { body: { truncate: "yes" } });
    expect(answer.status).toBe(422);
    expect(api.events.some((event) => event.event === "server:backup.restore")).toBe(false);
    expect((await api.call("GET", `${BACKUPS}?per_page=abc`)).status).toBe(422);
    expect((await api.call("GET", `${BACKUPS}?per_page=0`)).status).toBe(422);
  });

  it("refuses a body over 64 KiB", async () => {
    api = await startApi();
    const answer = await api.call("POST", BACKUPS, { body: { name: "x", pad: "p".repeat(70_000) } });
    expect(answer.status).toBe(413);
  });
});

describe("ids in paths", () => {
  const hostile = [
    "/api/client/servers/..%2F..%2Fetc/backups",
    "/api/client/servers/../../etc/backups",
    "/api/client/servers/srv-1%2F..%2Fsrv-2/backups",
    "/api/client/servers/srv-1/../srv-2/backups",
    "/api/client/servers/.hidden/backups",
    "/api/client/servers/srv%00/backups",
    `/api/client/servers/${"a".repeat(129)}/backups`,
    `/api/client/servers/${"a".repeat(10_000)}/backups`,
    "/api/client/servers/srv-1/backups/..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/client/servers/srv-1/backups/3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e%2F..",
    "/api/client/servers/srv-1/backups/3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e/../../srv-2/backups",
    `/api/client/servers/srv-1/backups/${"f".repeat(5000)}`,
  ];
  it("answers 404 to traversal and oversized ids, touching nothing", async () => {
    api = await startApi();
    for (const path of hostile) {
      for (const method of ["GET", "POST", "DELETE"]) {
        const answer = await api.call(method, path, method === "POST" ? { body: {} } : {});
        expect(answer.status, `${method} ${path}`).toBe(404);
        expect(answer.json?.errors?.[0]?.code, `${method} ${path}`).toBe("NotFoundHttpException");
      }
    }
    expect(api.events).toEqual([]);
    expect(await readdir(api.storageRoot).catch(() => [])).toEqual([]);
  });
});

describe("concurrent requests on one server", () => {
  it("queues many simultaneous backups (200 each, in progress) and runs them one after another", async () => {
    api = await startApi({ maxBackups: 10 });
    await writeFiles(join(api.serversRoot, "srv-1"), { "a.txt": "a" });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => api.call("POST", BACKUPS, { body: {} })),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const uuids = answers.map((answer) => answer.json.attributes.uuid as string);
    const uuid = uuids[0] as string;
    // Reads, lock toggles and listings meanwhile all answer.
    const reads = await Promise.all([
      api.call("GET", BACKUPS),
      api.call("GET", `${BACKUPS}/${uuid}`),
      api.call("GET", "/api/client/servers/srv-1"),
    ]);
    expect(reads.map((answer) => answer.status)).toEqual([200, 200, 200]);
    for (const each of uuids) expect((await api.manager.wait("srv-1", each)).is_successful).toBe(true);
    expect((await api.call("GET", BACKUPS)).json.meta.backup_count).toBe(6);
  });
});
