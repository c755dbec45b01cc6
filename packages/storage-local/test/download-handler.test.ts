import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createDownloadHandler,
  createLocalStorage,
  type DownloadHandler,
  type LocalStorage,
} from "../src/index.js";

const SECRET = "download-test-secret-0123456789abcdef";
const KEY = "srv-1/3e8e8f18.tar.gz";
const BYTES = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 256));

let root: string;
let server: Server;
let baseUrl: string;
let clock: number;
let storage: LocalStorage;
let handle: DownloadHandler;

function makeStorage(options: { singleUse?: boolean; secret?: string } = {}): LocalStorage {
  return createLocalStorage({
    root,
    downloads: {
      secret: options.secret ?? SECRET,
      baseUrl,
      now: () => clock,
      ...(options.singleUse === undefined ? {} : { singleUse: options.singleUse }),
    },
  });
}

/** Serves `next`'s downloads from now on. */
function serve(next: LocalStorage): void {
  storage = next;
  handle = createDownloadHandler(next);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "strongbox-download-"));
  clock = Date.now();
  server = createServer(async (req, res) => {
    if (!(await handle(req, res))) res.writeHead(418).end();
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  serve(makeStorage());
  await storage.put(KEY, Readable.from([BYTES]));
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((closed) => server.close(closed));
  await rm(root, { recursive: true, force: true });
});

async function fetchBytes(url: string, init?: RequestInit): Promise<{ res: Response; body: Buffer }> {
  const res = await fetch(url, init);
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

async function urlFor(filename?: string): Promise<string> {
  return storage.downloadUrl!(KEY, filename === undefined ? {} : { filename });
}

describe("download handler over HTTP", () => {
  it("serves the whole backup with length, type, file name and range support", async () => {
    const { res, body } = await fetchBytes(await urlFor("Nightly backup.tar.gz"));
    expect(res.status).toBe(200);
    expect(body.equals(BYTES)).toBe(true);
    expect(res.headers.get("content-length")).toBe(String(BYTES.length));
    expect(res.headers.get("content-type")).toBe("application/gzip");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="Nightly backup.tar.gz"; filename*=UTF-8''Nightly%20backup.tar.gz`,
    );
  });

  it("names the file after the key by default and encodes names beyond ASCII", async () => {
    const plain = await fetchBytes(await urlFor());
    expect(plain.res.headers.get("content-disposition")).toContain('filename="3e8e8f18.tar.gz"');
    const fancy = await fetchBytes(await urlFor('Sauvegarde "été".tar.gz'));
    expect(fancy.res.headers.get("content-disposition")).toBe(
      `attachment; filename="Sauvegarde __t__.tar.gz"; filename*=UTF-8''Sauvegarde%20%22%C3%A9t%C3%A9%22.tar.gz`,
    );
  });

  it("answers HEAD with the headers and no body", async () => {
    const { res, body } = await fetchBytes(await urlFor(), { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(BYTES.length));
    expect(body).toHaveLength(0);
  });

  it("serves single ranges with 206 and refuses ranges beyond the end with 416", async () => {
    const url = await urlFor();
    const middle = await fetchBytes(url, { headers: { range: "bytes=10-19" } });
    expect(middle.res.status).toBe(206);
    expect(middle.res.headers.get("content-range")).toBe(`bytes 10-19/${BYTES.length}`);
    expect(middle.res.headers.get("content-length")).toBe("10");
    expect(middle.body.equals(BYTES.subarray(10, 20))).toBe(true);

    const tail = await fetchBytes(url, { headers: { range: "bytes=4990-" } });
    expect(tail.res.status).toBe(206);
    expect(tail.body.equals(BYTES.subarray(4990))).toBe(true);

    const suffix = await fetchBytes(url, { headers: { range: "bytes=-5" } });
    expect(suffix.res.status).toBe(206);
    expect(suffix.body.equals(BYTES.subarray(-5))).toBe(true);

    const beyond = await fetchBytes(url, { headers: { range: "bytes=5000-6000" } });
    expect(beyond.res.status).toBe(416);
    expect(beyond.res.headers.get("content-range")).toBe(`bytes */${BYTES.length}`);

    const several = await fetchBytes(url, { headers: { range: "bytes=0-1,5-6" } });
    expect(several.res.status).toBe(200);
    expect(several.body.equals(BYTES)).toBe(true);
  });

  it("answers 401 without a token", async () => {
    for (const url of [`${baseUrl}/download/backup`, `${baseUrl}/download/backup?token=`]) {
      const { res, body } = await fetchBytes(url);
      expect(res.status).toBe(401);
      expect(JSON.parse(body.toString())).toMatchObject({ errors: [{ code: "PERMISSION_DENIED" }] });
    }
  });

  it("answers 403 once the token has expired (15 minutes by default)", async () => {
    const url = await urlFor();
    clock += 14 * 60_000;
    expect((await fetchBytes(url)).res.status).toBe(200);
    clock += 2 * 60_000;
    const { res, body } = await fetchBytes(url);
    expect(res.status).toBe(403);
    expect(body.toString()).not.toContain(KEY);
  });

  it("answers 403 for a tampered token", async () => {
    const url = new URL(await urlFor());
    const [header, payload, signature] = url.searchParams.get("token")!.split(".") as [
      string,
      string,
      string,
    ];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: "srv-2/other.tar.gz" })).toString(
      "base64url",
    );
    url.searchParams.set("token", `${header}.${forged}.${signature}`);
    expect((await fetchBytes(url.href)).res.status).toBe(403);
    url.searchParams.set("token", "not-a-token");
    expect((await fetchBytes(url.href)).res.status).toBe(403);
  });

  it("answers 403 for a token signed with another secret or for another audience", async () => {
    const other = makeStorage({ secret: "another-secret-0123456789abcdef-xyz" });
    expect((await fetchBytes(await other.downloadUrl!(KEY))).res.status).toBe(403);

    const now = Math.floor(clock / 1000);
    const foreign = await new SignJWT({ filename: "x.tar.gz" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(KEY)
      .setAudience("someone-else")
      .setJti("1")
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(SECRET));
    expect((await fetchBytes(`${baseUrl}/download/backup?token=${foreign}`)).res.status).toBe(403);
  });

  it("answers 404 once the backup is deleted", async () => {
    const url = await urlFor();
    await storage.delete(KEY);
    const { res, body } = await fetchBytes(url);
    expect(res.status).toBe(404);
    expect(JSON.parse(body.toString())).toMatchObject({ errors: [{ code: "NOT_FOUND" }] });
  });

  it("accepts a single-use token once (HEAD does not spend it)", async () => {
    serve(makeStorage({ singleUse: true }));
    const url = await urlFor();
    expect((await fetchBytes(url, { method: "HEAD" })).res.status).toBe(200);
    const first = await fetchBytes(url);
    expect(first.res.status).toBe(200);
    expect(first.body.equals(BYTES)).toBe(true);
    expect((await fetchBytes(url)).res.status).toBe(403);
    expect((await fetchBytes(await urlFor())).res.status).toBe(200);
  });

  it("answers 405 to other methods and leaves other paths to the next handler", async () => {
    const url = await urlFor();
    const post = await fetchBytes(url, { method: "POST" });
    expect(post.res.status).toBe(405);
    expect(post.res.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetchBytes(`${baseUrl}/api/other`)).res.status).toBe(418);
  });

  it("refuses a storage without downloads", () => {
    expect(() => createDownloadHandler(createLocalStorage({ root }))).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
  });
});
