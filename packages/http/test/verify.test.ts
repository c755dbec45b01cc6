import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { panelError, startApi, type TestApi, TOKENS, writeFiles } from "./helpers/api-server.js";

const BACKUPS = "/api/client/servers/srv-1/backups";
const PANEL_ATTRIBUTES = [
  "uuid",
  "name",
  "ignored_files",
  "checksum",
  "bytes",
  "is_successful",
  "is_locked",
  "created_at",
  "completed_at",
];
let api: TestApi;

beforeEach(async () => {
  api = await startApi({ maxBackups: 3 });
  await writeFiles(join(api.serversRoot, "srv-1"), { "server.properties": "motd=hello\n" });
});
afterEach(() => api.close());

describe("verification over HTTP", () => {
  it("shows the panel's attributes alone until a backup is verified, then the outcome as extra ones", async () => {
    const uuid = await api.backup("srv-1");
    const before = await api.call("GET", `${BACKUPS}/${uuid}`);
    expect(Object.keys(before.json.attributes)).toEqual(PANEL_ATTRIBUTES);

    const verified = await api.call("POST", `${BACKUPS}/${uuid}/verify`, { token: TOKENS.read });

    expect(verified.status).toBe(200);
    expect(verified.json.attributes).toMatchObject({ uuid, verification: "passed" });
    expect(verified.json.attributes.verified_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(Object.keys(verified.json.attributes)).toEqual([
      ...PANEL_ATTRIBUTES,
      "verified_at",
      "verification",
    ]);
    expect(await api.event("server:backup.verify", uuid)).toMatchObject({ actor: "reader" });
  });

  it("lists a damaged backup as failed, with what was wrong", async () => {
    const uuid = await api.backup("srv-1");
    await writeFile(join(api.storageRoot, "srv-1", `${uuid}.tar.gz`), "rot");

    const verified = await api.call("POST", `${BACKUPS}/${uuid}/verify`);
    const page = await api.call("GET", BACKUPS);

    expect(verified.json.attributes).toMatchObject({ verification: "failed" });
    expect(page.json.data[0].attributes).toMatchObject({
      uuid,
      verification: "failed",
      verification_error: expect.stringMatching(/ is damaged: its archive \(3 bytes, sha256:/),
    });
    expect(await api.event("server:backup.verify-fail", uuid)).toMatchObject({
      properties: { error: verified.json.attributes.verification_error },
    });
  });

  it("needs backup.read, and answers 404 for a backup that does not exist", async () => {
    const uuid = await api.backup("srv-1");
    const refused = await api.call("POST", `${BACKUPS}/${uuid}/verify`, { token: TOKENS.create });
    expect(refused.status).toBe(403);
    const missing = await api.call("POST", `${BACKUPS}/3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e/verify`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual(panelError(404, "NotFoundHttpException", /has no backup/));
  });
});
