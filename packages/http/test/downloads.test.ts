import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startApi, type TestApi, writeFiles } from "./helpers/api-server.js";

const BACKUPS = "/api/client/servers/srv-1/backups";
let api: TestApi;
let link: string;
let full: Buffer;

beforeEach(async () => {
  api = await startApi();
  await writeFiles(join(api.serversRoot, "srv-1"), { "a.txt": "a".repeat(5000), "b/c.txt": "c" });
  const created = await api.call("POST", BACKUPS, { body: { name: "Nightly" } });
  const uuid = created.json.attributes.uuid as string;
  await api.manager.wait("srv-1", uuid);
  link = (await api.call("GET", `${BACKUPS}/${uuid}/download`)).json.attributes.url;
  full = (await api.fetchUrl(link)).raw;
});
afterEach(() => api.close());

describe("download links served by the API's handler", () => {
  it("serves the archive with a file name, and a Range of it", async () => {
    const answer = await api.fetchUrl(link);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-disposition"]).toContain("Nightly.tar.gz");
    expect(full.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const ranged = await api.fetchUrl(link, { range: "bytes=10-49" });
    expect(ranged.status).toBe(206);
    expect(ranged.headers["content-range"]).toBe(`bytes 10-49/${full.length}`);
    expect(ranged.raw).toEqual(full.subarray(10, 50));
    const tail = await api.fetchUrl(link, { range: "bytes=-16" });
    expect(tail.raw).toEqual(full.subarray(full.length - 16));
    expect((await api.fetchUrl(link, { range: `bytes=${full.length + 10}-` })).status).toBe(416);
  });

  it("refuses an expired link", async () => {
    api.advanceClock(15 * 60 * 1000 + 1000);
    const answer = await api.fetchUrl(link);
    expect(answer.status).toBe(403);
    expect(answer.json.errors[0].detail).toMatch(/invalid or has expired/);
  });

  it("refuses a tampered or missing token", async () => {
    const url = new URL(link);
    const token = url.searchParams.get("token")!;
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const forged = JSON.parse(Buffer.from(payload, "base64url").toString());
    forged.sub = "srv-2/3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e.tar.gz";
    const tampered = [
      `${header}.${Buffer.from(JSON.stringify(forged)).toString("base64url")}.${signature}`,
      `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`,
      `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`,
      "not-a-token",
    ];
    for (const bad of tampered) {
      url.searchParams.set("token", bad);
      const answer = await api.fetchUrl(url.href);
      expect(answer.status, bad).toBe(403);
      expect(answer.raw.subarray(0, 2)).not.toEqual(Buffer.from([0x1f, 0x8b]));
    }
    url.searchParams.delete("token");
    expect((await api.fetchUrl(url.href)).status).toBe(401);
  });
});
