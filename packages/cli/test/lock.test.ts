import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BackupRecord } from "@strongbox/core";
import { beforeEach, describe, expect, it } from "vitest";
import { expectOneErrorLine, runJson, storedFiles, useBackupFixture } from "./helpers/backup-cli.js";
import { runCli } from "./helpers/run-cli.js";

const fx = useBackupFixture({ "a.txt": "hello" });
let backup: BackupRecord;

beforeEach(async () => {
  backup = await fx.seed("Keep");
});

const target = () => ["--storage", fx.storage, "--server", "srv-1"];
const manifest = async () =>
  JSON.parse(await readFile(join(fx.storage, "srv-1", `${backup.uuid}.json`), "utf8"));

describe("strongbox lock and unlock", () => {
  it("locks a backup, which then cannot be deleted, and unlocks it again", async () => {
    const locked = await runJson(["lock", backup.uuid, ...target()]);
    expect(locked).toMatchObject({ object: "backup", attributes: { uuid: backup.uuid, is_locked: true } });
    expect(await manifest()).toMatchObject({ is_locked: true });

    const refused = await runCli(["delete", backup.uuid, ...target()]);
    expectOneErrorLine(refused, /^strongbox: Cannot delete a locked backup\.\n$/);
    expect(refused.stdout).toBe("");
    expect(await storedFiles(fx.storage, "srv-1")).toHaveLength(2);

    const unlocked = await runCli(["unlock", backup.uuid, ...target()]);
    expect(unlocked).toMatchObject({ code: 0, stderr: "" });
    expect(unlocked.stdout).toMatch(
      new RegExp(`^Backup ${backup.uuid} "Keep": successful, .*[0-9a-f]{64}\\.\\n$`),
    );
    expect(await manifest()).toMatchObject({ is_locked: false });
  });

  it("changes nothing when a backup is locked twice", async () => {
    await runJson(["lock", backup.uuid, ...target()]);
    const again = await runCli(["lock", backup.uuid, ...target()]);

    expect(again).toMatchObject({ code: 0, stderr: "" });
    expect(again.stdout).toMatch(/, locked\.\n$/);
    expect(await manifest()).toMatchObject({ is_locked: true });
  });

  it.each([
    [
      "lock",
      "an unknown backup",
      "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e",
      /Server srv-1 has no backup 3e8e8f18/,
    ],
    ["unlock", "a malformed uuid", "nope", /A backup id must be a UUID/],
  ])("%s refuses %s with one line", async (command, _name, uuid, pattern) => {
    expectOneErrorLine(await runCli([command, uuid, ...target()]), pattern);
    expect(await manifest()).toMatchObject({ is_locked: false });
  });
});
