import type { BackupRecord } from "@strongbox/core";
import { createDownloadTokens } from "@strongbox/storage-local";
import { beforeEach, describe, expect, it } from "vitest";
import { expectOneErrorLine, runJson, useBackupFixture } from "./helpers/backup-cli.js";
import { runCli } from "./helpers/run-cli.js";

const SECRET = "0123456789abcdef0123456789abcdef";
// Neither is inherited from the environment the tests run in.
const UNSET = { STRONGBOX_DOWNLOAD_SECRET: undefined, STRONGBOX_BASE_URL: undefined };

const fx = useBackupFixture({ "a.txt": "hello" });
let backup: BackupRecord;

beforeEach(async () => {
  backup = await fx.seed("Nightly");
});

const args = (...extra: string[]) => [
  "download-url",
  backup.uuid,
  "--storage",
  fx.storage,
  "--server",
  "srv-1",
  ...extra,
];

/** The claims of a JWT, unverified. */
function claims(token: string): { iat: number; exp: number } {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
}

describe("strongbox download-url on local storage", () => {
  it("prints a link to the download handler, signed with the secret, for the backup's archive", async () => {
    const run = await runCli(args("--base-url", "https://panel.example.com/", "--expires", "120"), {
      env: { ...UNSET, STRONGBOX_DOWNLOAD_SECRET: SECRET },
    });

    expect(run).toMatchObject({ code: 0, stderr: "" });
    const url = new URL(run.stdout.trim());
    expect(`${url.origin}${url.pathname}`).toBe("https://panel.example.com/download/backup");
    const token = url.searchParams.get("token")!;
    const grant = await createDownloadTokens({ secret: SECRET }).verify(token);
    expect(grant).toMatchObject({ key: `srv-1/${backup.uuid}.tar.gz`, filename: "Nightly.tar.gz" });
    const { iat, exp } = claims(token);
    expect(exp - iat).toBe(120);
  });

  it("takes the base URL from STRONGBOX_BASE_URL and prints the signed_url object with --json", async () => {
    const document = await runJson<{ object: string; attributes: { url: string } }>(args(), {
      env: { STRONGBOX_DOWNLOAD_SECRET: SECRET, STRONGBOX_BASE_URL: "http://127.0.0.1:8080" },
    });

    expect(document.object).toBe("signed_url");
    expect(document.attributes.url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/download\/backup\?token=[\w.-]+$/);
  });

  it.each([
    [
      "no secret and no base URL",
      UNSET,
      /set STRONGBOX_DOWNLOAD_SECRET .* and --base-url or STRONGBOX_BASE_URL/,
    ],
    ["no base URL", { ...UNSET, STRONGBOX_DOWNLOAD_SECRET: SECRET }, /set --base-url or STRONGBOX_BASE_URL/],
    [
      "a short secret",
      { STRONGBOX_DOWNLOAD_SECRET: "short", STRONGBOX_BASE_URL: "http://x" },
      /secret must be at least 32 bytes/,
    ],
  ])("refuses %s with one line saying what to set", async (_name, env, pattern) => {
    const run = await runCli(args(), { env });

    expectOneErrorLine(run, pattern);
    expect(run.stdout).toBe("");
  });

  it("refuses an expiry that is not a whole number of seconds", async () => {
    const run = await runCli(args("--expires", "1.5"), { env: { STRONGBOX_DOWNLOAD_SECRET: SECRET } });

    expectOneErrorLine(run, /--expires must be a whole number of at least 1, not "1\.5"/, 2);
  });

  it("refuses an unknown backup", async () => {
    const run = await runCli(
      ["download-url", "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e", "--storage", fx.storage, "--server", "srv-1"],
      { env: { STRONGBOX_DOWNLOAD_SECRET: SECRET, STRONGBOX_BASE_URL: "http://x" } },
    );

    expectOneErrorLine(run, /Server srv-1 has no backup 3e8e8f18/);
  });
});
