import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { panelError, startApi, type TestApi, TOKENS, until, writeFiles } from "./helpers/api-server.js";

let api: TestApi;
afterEach(() => api.close());

describe("paths under /api/ that are no route", () => {
  const unknown = [
    "/api/",
    "/api/client/account",
    "/api/client/servers",
    "/api/client/servers/srv-1/files/list",
    "/api/client/servers/srv-1/backups/3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e/rename",
    "/api/application/servers",
  ];
  it("answer the panel's JSON 404, before any token is asked for", async () => {
    api = await startApi();
    for (const path of unknown) {
      for (const token of [TOKENS.admin, null]) {
        const answer = await api.call("GET", path, { token });
        expect(answer.status, path).toBe(404);
        expect(answer.headers["content-type"], path).toBe("application/json");
        expect(answer.json, path).toEqual(
          panelError(404, "NotFoundHttpException", "The requested resource does not exist."),
        );
      }
    }
  });

  it("leave paths outside /api/ to the embedder", async () => {
    api = await startApi();
    const answer = await api.call("GET", "/apix/client");
    expect(answer.status).toBe(404);
    expect(answer.raw.toString()).toBe("not the API");
  });

  it("answer a wrong method with a JSON 405 and the methods allowed", async () => {
    api = await startApi();
    const cases: [string, string, string][] = [
      ["POST", "/api/client", "GET"],
      ["DELETE", "/api/client/servers/srv-1", "GET"],
      ["PUT", "/api/client/servers/srv-1/backups", "GET, POST"],
      ["PATCH", "/api/client/servers/srv-1/backups/3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e", "GET, DELETE"],
      ["GET", "/api/client/servers/srv-1/backups/3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e/restore", "POST"],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await api.call(method, path);
      expect(answer.status, `${method} ${path}`).toBe(405);
      expect(answer.headers.allow).toBe(allow);
      expect(answer.headers["content-type"]).toBe("application/json");
      expect(answer.json).toEqual(
        panelError(
          405,
          "MethodNotAllowedHttpException",
          `The ${method} method is not supported for this route. Supported methods: ${allow}.`,
        ),
      );
    }
  });
});

describe("GET /api/client", () => {
  it("lists the servers the token sees, paginated, with their limit and status", async () => {
    api = await startApi({ maxBackups: 3 });
    const all = await api.call("GET", "/api/client", { token: TOKENS.none });
    expect(all.status).toBe(200);
    expect(all.json).toEqual({
      object: "list",
      data: [
        {
          object: "server",
          attributes: { identifier: "srv-1", feature_limits: { backups: 3 }, status: null },
        },
        {
          object: "server",
          attributes: { identifier: "srv-2", feature_limits: { backups: 3 }, status: null },
        },
        {
          object: "server",
          attributes: { identifier: "srv-installing", feature_limits: { backups: 3 }, status: "installing" },
        },
      ],
      meta: { pagination: { total: 3, count: 3, per_page: 50, current_page: 1, total_pages: 1 } },
    });
    // As a client library asks on start (per_page 75 is within the panel's cap of 100).
    const second = await api.call("GET", "/api/client?page=2&per_page=2");
    expect(
      second.json.data.map((server: { attributes: { identifier: string } }) => server.attributes.identifier),
    ).toEqual(["srv-installing"]);
    expect(second.json.meta.pagination).toEqual({
      total: 3,
      count: 1,
      per_page: 2,
      current_page: 2,
      total_pages: 2,
    });
    const capped = await api.call("GET", "/api/client?page=1&per_page=500");
    expect(capped.json.meta.pagination).toMatchObject({ per_page: 100, count: 3 });
    expect((await api.call("GET", "/api/client", { token: "wrong" })).status).toBe(401);
  });
});

describe("a server's status", () => {
  it("is restoring_backup while a restore runs, then null again", async () => {
    let gate = Promise.resolve();
    let release!: () => void;
    api = await startApi({}, () => gate);
    await writeFiles(join(api.serversRoot, "srv-1"), { "a.txt": "a" });
    const uuid = await api.backup();
    const server = () => api.call("GET", "/api/client/servers/srv-1");
    expect((await server()).json.attributes).toEqual({
      identifier: "srv-1",
      feature_limits: { backups: null },
      status: null,
    });
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The restore holds the server until released.
    const restore = api.call("POST", `/api/client/servers/srv-1/backups/${uuid}/restore`, {
      body: { truncate: true },
    });
    await until(() => api.manager.isBusy("srv-1"));
    expect((await server()).json.attributes.status).toBe("restoring_backup");
    const listed = await api.call("GET", "/api/client");
    expect(listed.json.data[0].attributes).toMatchObject({ identifier: "srv-1", status: "restoring_backup" });
    release();
    expect((await restore).status).toBe(204);
    await api.event("server:backup.restore-complete", uuid);
    await until(() => !api.manager.isBusy("srv-1"));
    expect((await server()).json.attributes.status).toBe(null);
  });

  it("is the embedder's state when the panel has a name for it", async () => {
    api = await startApi();
    const answer = await api.call("GET", "/api/client/servers/srv-installing");
    expect(answer.json.attributes.status).toBe("installing");
  });
});
