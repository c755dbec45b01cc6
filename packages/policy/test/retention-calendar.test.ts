import { describe, expect, it } from "vitest";
import type { BackupRecord, RetentionOptions } from "../src/index.js";
import { retentionPlan } from "../src/index.js";
import { input, NOW, record } from "./records.js";

type Extra = Parameters<typeof record>[1];
const at = (uuid: string, time: string, extra: Extra = {}) => record(uuid, { at: time, ...extra });

/** Every backup's decision as `uuid: "keep: reasons"` or `uuid: "remove: reason"`. */
function decided(backups: BackupRecord[], options: RetentionOptions, now = NOW): Record<string, string> {
  const plan = retentionPlan(input(backups, { now }), options);
  return Object.fromEntries(
    plan.decisions.map(({ backup, action, reasons }) => [backup.uuid, `${action}: ${reasons.join(", ")}`]),
  );
}

describe("retentionPlan with calendar keep rules", () => {
  it.each<{
    case: string;
    backups: BackupRecord[];
    options: RetentionOptions;
    expected: Record<string, string>;
  }>([
    {
      case: "a locked backup is always kept, and takes its day like any other",
      backups: [
        at("a", "2025-01-15T10:00:00Z"),
        at("l", "2025-01-14T18:00:00Z", { locked: true }),
        at("b", "2025-01-14T09:00:00Z"),
        at("c", "2025-01-13T12:00:00Z"),
        at("old", "2025-01-10T12:00:00Z", { locked: true }),
      ],
      options: { keepDaily: 2, timeZone: "UTC" },
      expected: {
        a: "keep: newest successful, daily",
        l: "keep: locked, daily",
        b: "remove: beyond the newest 2 daily backups",
        c: "remove: beyond the newest 2 daily backups",
        old: "keep: locked",
      },
    },
    {
      case: "failed backups take no bucket: they stay inside the history the rules keep and go when older",
      backups: [
        at("f0", "2025-01-15T11:00:00Z", { status: "failed" }),
        at("a", "2025-01-15T10:00:00Z"),
        at("f1", "2025-01-14T20:00:00Z", { status: "failed" }),
        at("b", "2025-01-14T09:00:00Z"),
        at("f2", "2025-01-14T08:00:00Z", { status: "failed" }),
        at("c", "2025-01-10T12:00:00Z"), // the week before
        at("f3", "2025-01-10T08:00:00Z", { status: "failed" }),
        at("d", "2025-01-09T12:00:00Z"),
        at("run", "2025-01-08T08:00:00Z", { status: "in_progress" }),
      ],
      options: { keepDaily: 1, keepWeekly: 2, timeZone: "UTC" },
      expected: {
        f0: "keep: no rule removes it",
        a: "keep: newest successful, daily, weekly",
        f1: "keep: no rule removes it",
        b: "remove: beyond the newest 1 daily backup, 2 weekly backups",
        f2: "keep: no rule removes it",
        c: "keep: weekly",
        f3: "remove: beyond the newest 1 daily backup, 2 weekly backups",
        d: "remove: beyond the newest 1 daily backup, 2 weekly backups",
        run: "keep: in progress",
      },
    },
    {
      case: "failed backups stay while the rules remove no successful backup",
      backups: [
        at("a", "2025-01-15T10:00:00Z"),
        at("f", "2025-01-14T20:00:00Z", { status: "failed" }),
        at("b", "2025-01-14T09:00:00Z"),
      ],
      options: { keepDaily: 5, timeZone: "UTC" },
      expected: { a: "keep: newest successful, daily", f: "keep: no rule removes it", b: "keep: daily" },
    },
    {
      case: "the size cap removes the oldest successful backups even when a keep rule kept them",
      backups: [
        at("a", "2025-01-15T10:00:00Z", { bytes: 400 }),
        at("b", "2025-01-14T10:00:00Z", { bytes: 400 }),
        at("l", "2025-01-13T10:00:00Z", { bytes: 400, locked: true }),
        at("c", "2025-01-12T10:00:00Z", { bytes: 400 }),
        at("d", "2025-01-11T10:00:00Z", { bytes: 400 }),
      ],
      options: { keepDaily: 3, maxTotalBytes: 1000, timeZone: "UTC" },
      expected: {
        a: "keep: newest successful, daily",
        b: "remove: over the total size cap of 1000 bytes",
        l: "keep: locked, daily",
        c: "remove: beyond the newest 3 daily backups",
        d: "remove: beyond the newest 3 daily backups",
      },
    },
    {
      case: "keepWithin counts back from the newest backup, not from now",
      backups: [
        at("a", "2024-12-01T10:00:00Z"),
        at("b", "2024-11-29T10:00:01Z"),
        at("c", "2024-11-29T10:00:00Z"),
      ],
      options: { keepWithin: "2d", timeZone: "UTC" },
      expected: {
        a: "keep: newest successful, within 2d",
        b: "keep: within 2d",
        c: "remove: beyond the 2d before the newest backup",
      },
    },
    {
      case: "keepWithin ignores a backup dated in the future",
      backups: [
        at("future", "2026-01-20T10:00:00Z"),
        at("a", "2025-12-31T10:00:00Z"),
        at("b", "2025-12-30T11:00:00Z"),
        at("c", "2025-12-30T09:00:00Z"),
      ],
      options: { keepWithin: "1d", timeZone: "UTC" },
      expected: {
        future: "keep: newest successful, within 1d",
        a: "keep: within 1d",
        b: "keep: within 1d",
        c: "remove: beyond the 1d before the newest backup",
      },
    },
    {
      case: "keepWithin months overflow as Go's AddDate: 31 March less a month is 3 March",
      backups: [
        at("a", "2025-03-31T12:00:00Z"),
        at("b", "2025-03-03T12:00:01Z"),
        at("c", "2025-03-03T12:00:00Z"),
      ],
      options: { keepWithin: "1m", timeZone: "UTC" },
      expected: {
        a: "keep: newest successful, within 1m",
        b: "keep: within 1m",
        c: "remove: beyond the 1m before the newest backup",
      },
    },
    {
      case: "keepWithin days are wall-clock days: the one before the autumn change lasts 25 hours",
      backups: [
        at("a", "2025-10-26T23:00:00Z"), // 27 October 00:00 CET
        at("b", "2025-10-25T22:30:00Z"), // 26 October 00:30 CEST, 24.5 hours earlier
        at("c", "2025-10-25T21:30:00Z"), // 25 October 23:30 CEST
      ],
      options: { keepWithin: "1d", timeZone: "Europe/Berlin" },
      expected: {
        a: "keep: newest successful, within 1d",
        b: "keep: within 1d",
        c: "remove: beyond the 1d before the newest backup",
      },
    },
    {
      case: "days follow the time zone: the 23-hour spring day in Berlin",
      backups: [
        at("a", "2025-03-30T22:30:00Z"), // 31 March 00:30 CEST
        at("b", "2025-03-30T21:30:00Z"), // 30 March 23:30 CEST
        at("c", "2025-03-29T23:30:00Z"), // 30 March 00:30 CET
      ],
      options: { keepDaily: 5, timeZone: "Europe/Berlin" },
      expected: {
        a: "keep: newest successful, daily",
        b: "keep: daily",
        c: "remove: beyond the newest 5 daily backups",
      },
    },
    {
      case: "the same backups in UTC fall on other days",
      backups: [
        at("a", "2025-03-30T22:30:00Z"),
        at("b", "2025-03-30T21:30:00Z"),
        at("c", "2025-03-29T23:30:00Z"),
      ],
      options: { keepDaily: 5, timeZone: "UTC" },
      expected: {
        a: "keep: newest successful, daily",
        b: "remove: beyond the newest 5 daily backups",
        c: "keep: daily",
      },
    },
    {
      case: "the hour repeated in autumn is one hourly bucket",
      backups: [
        at("a", "2025-10-26T02:10:00Z"), // 03:10 CET
        at("b", "2025-10-26T01:30:00Z"), // 02:30 CET
        at("c", "2025-10-26T00:45:00Z"), // 02:45 CEST, the same wall-clock hour
        at("d", "2025-10-25T23:50:00Z"), // 01:50 CEST
      ],
      options: { keepHourly: 10, timeZone: "Europe/Berlin" },
      expected: {
        a: "keep: newest successful, hourly",
        b: "keep: hourly",
        c: "remove: beyond the newest 10 hourly backups",
        d: "keep: hourly",
      },
    },
    {
      case: "weeks are ISO weeks: Monday 30 December 2024 starts week 1 of 2025, years are calendar years",
      backups: [
        at("a", "2025-01-05T12:00:00Z"),
        at("b", "2024-12-30T12:00:00Z"),
        at("c", "2024-12-29T12:00:00Z"),
      ],
      options: { keepWeekly: 5, keepYearly: 5, timeZone: "UTC" },
      expected: {
        a: "keep: newest successful, weekly, yearly",
        b: "keep: yearly", // the newest of 2024, in the week of 5 January 2025
        c: "keep: weekly",
      },
    },
    {
      case: "backups the rules cannot date, in progress or locked are listed with why they stay",
      backups: [
        at("a", "2025-01-15T10:00:00Z"),
        { ...at("bad", "2025-01-14T10:00:00Z"), created_at: "yesterday" },
        at("run", "2025-01-13T10:00:00Z", { status: "in_progress" }),
        at("lf", "2025-01-12T10:00:00Z", { status: "failed", locked: true }),
        at("b", "2025-01-11T10:00:00Z"),
      ],
      options: { keepLast: 1 },
      expected: {
        a: "keep: newest successful, last",
        bad: "keep: undated",
        run: "keep: in progress",
        lf: "keep: locked",
        b: "remove: beyond the newest 1 successful backup",
      },
    },
    {
      case: "with no rule every backup is kept and says so",
      backups: [at("a", "2025-01-15T10:00:00Z"), at("b", "2025-01-11T10:00:00Z")],
      options: {},
      expected: { a: "keep: newest successful", b: "keep: no rule removes it" },
    },
  ])("$case", ({ backups, options, expected }) => {
    // keepWithin counts from the newest backup that is not in the future: decide after all of them.
    expect(decided(backups, options, new Date("2026-01-01T00:00:00Z"))).toEqual(expected);
  });

  it("defaults to the process's time zone, as restic does", () => {
    const backups = [at("a", "2025-03-30T22:30:00Z"), at("b", "2025-03-30T21:30:00Z")];
    const zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(decided(backups, { keepDaily: 5 })).toEqual(decided(backups, { keepDaily: 5, timeZone: zone }));
  });

  it.each<[RetentionOptions, string]>([
    [{ keepDaily: 0 }, "retention.keepDaily must be an integer of at least 1, got 0."],
    [
      { keepWithin: "1w" },
      'retention.keepWithin must be a duration like 1y5m7d2h (years, months, days, hours; at least one above 0), got "1w".',
    ],
    [
      { timeZone: "Mars/Olympus" },
      'retention.timeZone must be an IANA time zone name like Europe/Berlin, got "Mars/Olympus".',
    ],
  ])("refuses invalid options even without a policy: %o", (options, message) => {
    expect(() => retentionPlan(input([]), options)).toThrow(new RangeError(message));
  });
});
