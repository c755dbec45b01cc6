import { once } from "node:events";
import { Agent, type IncomingMessage, request } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { panelError, startApi, type TestApi, TOKENS } from "./helpers/api-server.js";

const BACKUPS = "/api/client/servers/srv-1/backups";
const MiB = 1024 * 1024;
let api: TestApi;
let agent: Agent;

beforeEach(async () => {
  api = await startApi();
  // One keep-alive connection: every request reuses it whenever the server lets it.
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
});
afterEach(async () => {
  agent.destroy();
  await api.close();
});

interface Upload {
  status: number;
  headers: IncomingMessage["headers"];
  // biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies field by field
  json: any;
  /** Errors the client met while sending (EPIPE, ECONNRESET): none when the answer arrives cleanly. */
  errors: Error[];
  /** The local port of the connection used, to tell whether the next request reuses it. */
  port: number | undefined;
}

/**
 * Sends `bytes` of body in 1 MiB chunks, as a client streaming a file does (never all in memory), and
 * resolves once the exchange is over: the answer read and the request closed (sent in full, or cut).
 */
function upload(method: string, path: string, bytes: number, token: string | null = TOKENS.admin) {
  return new Promise<Upload>((resolve, reject) => {
    const url = new URL(api.origin);
    const errors: Error[] = [];
    const req = request({
      agent,
      host: url.hostname,
      port: url.port,
      method,
      path,
      headers: {
        ...(token !== null && { authorization: `Bearer ${token}` }),
        "content-type": "application/json",
        "content-length": String(bytes),
      },
    });
    req.on("error", (error) => errors.push(error));
    let responded = false;
    const answered = new Promise<Omit<Upload, "errors">>((answer) => {
      req.on("response", async (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString("utf8");
        answer({
          status: res.statusCode ?? 0,
          headers: res.headers,
          json: text === "" ? undefined : JSON.parse(text),
          port: req.socket?.localPort,
        });
      });
    });
    req.on("close", () => {
      if (!responded) reject(new Error(`no answer: ${errors.map(String).join(", ")}`));
      else void answered.then((answer) => resolve({ ...answer, errors }));
    });
    void (async () => {
      const chunk = Buffer.alloc(Math.min(MiB, bytes), 0x20);
      for (let sent = 0; sent < bytes; sent += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
        // A request that fails rejects `once`; its error is recorded above.
        if (!req.write(part)) await Promise.race([once(req, "drain"), once(req, "close")]).catch(() => {});
        if (req.destroyed) return;
      }
      req.end();
    })();
  });
}

const TOO_LARGE = panelError(413, "PayloadTooLargeHttpException", "The request body is larger than 64 KiB.");

describe("answers before the body is read, on a keep-alive connection", () => {
  it("answers a body over 64 KiB with 413, and the next request on the connection too", async () => {
    const refused = await upload("POST", BACKUPS, 4 * MiB);
    expect(refused).toMatchObject({ status: 413, json: TOO_LARGE, errors: [] });
    expect(refused.headers.connection).toBe("keep-alive");
    const next = await upload("GET", BACKUPS, 0);
    expect(next).toMatchObject({ status: 200, errors: [] });
    // The same connection: the rest of the refused body did not become the start of this request.
    expect(next.port).toBe(refused.port);
    expect(next.json.meta.backup_count).toBe(0);
  });

  it("lets a client sending 60 MiB see the 413 instead of a broken pipe", async () => {
    const refused = await upload("POST", BACKUPS, 60 * MiB);
    expect(refused).toMatchObject({ status: 413, json: TOO_LARGE, errors: [] });
    const next = await upload("GET", BACKUPS, 0);
    expect(next).toMatchObject({ status: 200, errors: [] });
    expect(next.json.meta.backup_count).toBe(0);
  });

  it("answers an upload without a token 401, and an upload to no route 404, keeping the connection", async () => {
    const unauthenticated = await upload("POST", BACKUPS, 8 * MiB, null);
    expect(unauthenticated).toMatchObject({ status: 401, errors: [] });
    const nowhere = await upload("POST", "/api/client/servers/srv-1/files/upload", 8 * MiB);
    expect(nowhere).toMatchObject({ status: 404, errors: [] });
    expect(nowhere.port).toBe(unauthenticated.port);
    expect((await upload("GET", BACKUPS, 0)).status).toBe(200);
  });
});
