import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { respond } from "../src/respond.js";

const KiB = 1024;
let server: Server;
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

/** A server answering every request at once, unread, with a discard limit of `limit` bytes. */
async function answeringEarly(limit: number) {
  let read!: (bytes: number) => void;
  const received = new Promise<number>((resolve) => {
    read = resolve;
  });
  server = createServer((req, res) => {
    respond(req, res, 413, { errors: [] }, {}, limit);
    // What the server read of the connection, once the exchange is over.
    res.on("close", () => read(req.socket.bytesRead));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, received };
}

/** Sends `bytes` of body; resolves with the status seen (or the error met) once the request closed. */
function send(port: number, bytes: number) {
  return new Promise<{ status?: number; connection?: string; error?: string }>((resolve) => {
    const outcome: { status?: number; connection?: string; error?: string } = {};
    const req = request({ port, host: "127.0.0.1", method: "POST", headers: { "content-length": bytes } });
    req.on("response", (res) => {
      outcome.status = res.statusCode;
      outcome.connection = res.headers.connection;
      res.resume();
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      outcome.error = error.code;
    });
    req.on("close", () => resolve(outcome));
    void (async () => {
      const chunk = Buffer.alloc(64 * KiB);
      for (let sent = 0; sent < bytes && !req.destroyed; sent += chunk.length) {
        if (!req.write(chunk)) await Promise.race([once(req, "drain"), once(req, "close")]).catch(() => {});
      }
      if (!req.destroyed) req.end();
    })();
  });
}

describe("an answer given before the body was read", () => {
  it("waits for the rest of a body within the limit, and keeps the connection", async () => {
    const { port } = await answeringEarly(1024 * KiB);
    expect(await send(port, 512 * KiB)).toEqual({ status: 413, connection: "keep-alive" });
  });

  it("stops reading past the limit and closes the connection, whatever the client still sends", async () => {
    const { port, received } = await answeringEarly(256 * KiB);
    const total = 64 * 1024 * KiB;
    const outcome = await send(port, total);
    // The client sees the answer, or the connection cut: never the whole body read by the server.
    expect(outcome.status === 413 || outcome.error !== undefined).toBe(true);
    if (outcome.status === 413) expect(outcome.connection).toBe("close");
    expect(await received).toBeLessThan(total / 4);
  });
});
