import type { BackupRecord } from "@strongbox/core";
import { beforeEach, describe, expect, it } from "vitest";
import {
  type BackupAttributes,
  expectOneErrorLine,
  runJson,
  storedFiles,
  useBackupFixture,
} from "./helpers/backup-cli.js";
import { runCli } from "./helpers/run-cli.js";

const fx = useBackupFixture({ "a.txt": "hello" });
let newest: BackupRecord;
let locked: BackupRecord;
let sameDay: BackupRecord;
let oldest: BackupRecord;

const seedWeek = async () => {
  oldest = await fx.seed("Monday", { at: new Date("2025-01-13T10:00:00Z") });
  sameDay = await fx.seed("Tuesday morning", { at: new Date("2025-01-14T09:00:00Z") });
  locked = await fx.seed("Tuesday evening", { at: new Date("2025-01-14T18:00:00Z"), locked: true });
  newest = await fx.seed("Wednesday", { at: new Date("2025-01-15T10:00:00Z") });
};

const target = () => ["--storage", fx.storage, "--server", "srv-1"];
/** `strongbox forget` on the fixture's server with `--json`: the plan document. */
const forget = (...flags: string[]) => runJson<PlanDocument>(["forget", ...target(), ...flags]);
const filesOf = (...records: BackupRecord[]) =>
  records.flatMap((record) => [`${record.uuid}.json`, `${record.uuid}.tar.gz`]).sort();

interface PlanDocument {
  object: string;
  attributes: {
    dry_run: boolean;
    time_zone: string;
    decisions: {
      action: string;
      reasons: string[];
      backup: { object: string; attributes: BackupAttributes };
    }[];
  };
}

describe("strongbox forget", () => {
  beforeEach(seedWeek);

  it("lists each backup with keep or remove and the rule that decided it on a dry run, deleting nothing", async () => {
    const run = await runCli(["forget", ...target(), "--keep-daily", "2", "--time-zone", "UTC", "--dry-run"]);

    expect(run).toMatchObject({ code: 0, stderr: "" });
    const removed = "beyond the newest 2 daily backups";
    expect(run.stdout.split("\n")).toEqual([
      "Would remove 2 of 4 backups (times in UTC):",
      `keep    ${newest.uuid}  2025-01-15 10:00  "Wednesday"  newest successful, daily`,
      `keep    ${locked.uuid}  2025-01-14 18:00  "Tuesday evening"  locked, daily`,
      `remove  ${sameDay.uuid}  2025-01-14 09:00  "Tuesday morning"  ${removed}`,
      `remove  ${oldest.uuid}  2025-01-13 10:00  "Monday"  ${removed}`,
      "",
    ]);
    expect(await storedFiles(fx.storage, "srv-1")).toEqual(filesOf(newest, locked, sameDay, oldest));
  });

  it("deletes what the rules remove, one at a time, and then finds nothing more to remove", async () => {
    const document = await forget("--keep-daily", "2", "--time-zone", "UTC");

    expect(document.object).toBe("retention_plan");
    expect(document.attributes).toMatchObject({ dry_run: false, time_zone: "UTC" });
    expect(
      document.attributes.decisions.map(({ action, backup }) => [backup.attributes.uuid, action]),
    ).toEqual([
      [newest.uuid, "keep"],
      [locked.uuid, "keep"],
      [sameDay.uuid, "remove"],
      [oldest.uuid, "remove"],
    ]);
    expect(await storedFiles(fx.storage, "srv-1")).toEqual(filesOf(newest, locked));

    const again = await forget("--keep-daily", "2", "--time-zone", "UTC");
    expect(again.attributes.decisions.map(({ action }) => action)).toEqual(["keep", "keep"]);
  });

  it("puts days in the given time zone: in Tokyo, Tuesday evening (UTC) is Wednesday", async () => {
    const document = await forget(
      "--keep-daily",
      "2",
      "--keep-within",
      "20h",
      "--time-zone",
      "Asia/Tokyo",
      "--dry-run",
    );

    // 14 January 18:00 UTC is 15 January 03:00 in Tokyo, the newest backup's day, so the second day kept is
    // the 14th (Tokyo) of the morning backup. 20 hours before the newest reaches 14 January 14:00 UTC.
    expect(
      document.attributes.decisions.map(({ action, reasons }) => `${action}: ${reasons.join(", ")}`),
    ).toEqual([
      "keep: newest successful, within 20h, daily",
      "keep: locked, within 20h",
      "keep: daily",
      "remove: beyond the newest 2 daily backups and the 20h before the newest backup",
    ]);
    expect(await storedFiles(fx.storage, "srv-1")).toHaveLength(8);
  });
});

describe("strongbox forget with bad flags", () => {
  it.each([
    [[], /forget: name at least one --keep-\* rule/],
    [["--keep-daily", "0"], /--keep-daily must be a whole number of at least 1, not "0"/],
    [["--keep-within", "1w"], /--keep-within must be a duration like 1y5m7d2h .*got "1w"/],
    [["--keep-last", "1", "--time-zone", "Mars/Olympus"], /--time-zone must be an IANA time zone name/],
  ])("refuses %j with one line and exit code 2 before opening the storage", async (flags, pattern) => {
    const run = await runCli(["forget", ...target(), ...flags]);

    expectOneErrorLine(run, pattern, 2);
    expect(await storedFiles(fx.storage, "srv-1")).toEqual([]);
  });
});
