import type { BackupRecord } from "@strongbox/core";
import { beforeEach, describe, expect, it } from "vitest";
import { expectOneErrorLine, runJson, storedFiles, useBackupFixture } from "./helpers/backup-cli.js";
import { runCli } from "./helpers/run-cli.js";

const fx = useBackupFixture({ "a.txt": "hello" });
let kept: BackupRecord;
let doomed: BackupRecord;

beforeEach(async () => {
  kept = await fx.seed("Kept");
  doomed = await fx.seed("Old");
});

const target = () => ["--storage", fx.storage, "--server", "srv-1"];
const filesOf = (record: BackupRecord) => [`${record.uuid}.json`, `${record.uuid}.tar.gz`];

describe("strongbox delete", () => {
  it("removes the backup's archive and record, and nothing else", async () => {
    const run = await runCli(["delete", doomed.uuid, ...target()]);

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(`Deleted backup ${doomed.uuid} "Old".\n`);
    expect(await storedFiles(fx.storage, "srv-1")).toEqual(filesOf(kept).sort());
  });

  it("prints the deleted backup with --json", async () => {
    const document = await runJson(["delete", doomed.uuid, ...target()]);

    expect(document).toMatchObject({ object: "backup", attributes: { uuid: doomed.uuid, name: "Old" } });
    expect(await storedFiles(fx.storage, "srv-1")).toEqual(filesOf(kept).sort());
  });

  it.each([
    ["an unknown backup", "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e", /Server srv-1 has no backup 3e8e8f18/],
    ["a malformed uuid", "3E8E8F18-25FA", /A backup id must be a UUID/],
  ])("refuses %s with one line, deleting nothing", async (_name, uuid, pattern) => {
    const run = await runCli(["delete", uuid, ...target()]);

    expectOneErrorLine(run, pattern);
    expect(await storedFiles(fx.storage, "srv-1")).toEqual([...filesOf(kept), ...filesOf(doomed)].sort());
  });

  it("refuses a backup of another server", async () => {
    const run = await runCli(["delete", doomed.uuid, "--storage", fx.storage, "--server", "srv-2"]);

    expectOneErrorLine(run, /Server srv-2 has no backup/);
    expect(await storedFiles(fx.storage, "srv-1")).toHaveLength(4);
  });
});
