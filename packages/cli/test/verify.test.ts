import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BackupRecord } from "@strongbox/core";
import { beforeEach, describe, expect, it } from "vitest";
import { expectOneErrorLine, runJson, useBackupFixture } from "./helpers/backup-cli.js";
import { runCli } from "./helpers/run-cli.js";

const fx = useBackupFixture({ "a.txt": "hello", "dir/b.txt": "b" });
let backup: BackupRecord;

beforeEach(async () => {
  backup = await fx.seed("Nightly");
});

const args = (uuid: string) => ["verify", uuid, "--storage", fx.storage, "--server", "srv-1"];

describe("strongbox verify", () => {
  it("checks an intact archive and says so on one line", async () => {
    const run = await runCli(args(backup.uuid));

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      `Backup ${backup.uuid} "Nightly": successful, ${backup.bytes} B, ${backup.checksum}, verified.\n`,
    );
  });

  it("records the outcome, which list shows: passed, then FAILED once the archive is damaged", async () => {
    const list = ["list", "--storage", fx.storage, "--server", "srv-1"];
    expect((await runCli(args(backup.uuid))).code).toBe(0);
    expect((await runCli(list)).stdout).toMatch(new RegExp(`^${backup.uuid} .* no +passed +Nightly$`, "m"));

    await writeFile(join(fx.storage, "srv-1", `${backup.uuid}.tar.gz`), "rot");
    expect((await runCli(args(backup.uuid))).code).toBe(1);

    expect((await runCli(list)).stdout).toMatch(new RegExp(`^${backup.uuid} .* no +FAILED +Nightly$`, "m"));
    const shown = await runJson(["list", ...list.slice(1), "--json"]);
    expect(shown).toMatchObject({
      data: [{ attributes: { uuid: backup.uuid, verification: "failed", verification_error: /is damaged/ } }],
    });
  });

  it("prints the backup with --json", async () => {
    const document = await runJson(args(backup.uuid));

    expect(document).toMatchObject({
      object: "backup",
      attributes: { uuid: backup.uuid, checksum: backup.checksum },
    });
  });

  it("fails with CHECKSUM_MISMATCH's message when the archive changed", async () => {
    const archive = join(fx.storage, "srv-1", `${backup.uuid}.tar.gz`);
    await writeFile(archive, Buffer.alloc(backup.bytes, 1));

    const run = await runCli(args(backup.uuid));

    expectOneErrorLine(run, new RegExp(`Backup ${backup.uuid} is damaged: .* does not match its record`));
    expect(run.stdout).toBe("");
  });

  it("fails when the archive is missing", async () => {
    await rm(join(fx.storage, "srv-1", `${backup.uuid}.tar.gz`));

    const run = await runCli(args(backup.uuid));

    expectOneErrorLine(run, /The archive of backup .* is missing from the storage\./);
  });

  it("refuses a failed backup", async () => {
    const manifest = join(fx.storage, "srv-1", `${backup.uuid}.json`);
    await writeFile(manifest, JSON.stringify({ ...backup, is_successful: false, checksum: null, bytes: 0 }));

    const run = await runCli(args(backup.uuid));

    expectOneErrorLine(run, /Only a successful backup can be verified; backup .* failed\./);
  });

  it.each([
    ["an unknown backup", "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e", /Server srv-1 has no backup 3e8e8f18/],
    ["a malformed uuid", "../../etc/passwd", /A backup id must be a UUID/],
  ])("refuses %s with one line", async (_name, uuid, pattern) => {
    expectOneErrorLine(await runCli(args(uuid)), pattern);
  });
});
