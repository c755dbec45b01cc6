import { describe, expect, it } from "vitest";
import type { BackupRecord, RetentionOptions } from "../src/index.js";
import { retentionPlan } from "../src/index.js";
import { DAY, input, MINUTE, record } from "./records.js";

type Extra = Parameters<typeof record>[1];
const aged = (uuid: string, ageMs: number, extra: Extra = {}) => record(uuid, { ageMs, ...extra });
const uuids = (backups: readonly BackupRecord[]) => backups.map((b) => b.uuid);

/** A server with every kind of backup, newest first. */
const mixed = [
  aged("s1", 1 * MINUTE, { bytes: 300 }),
  aged("f2", 2 * MINUTE, { status: "failed" }),
  aged("s3", 2 * DAY, { bytes: 300 }),
  aged("l4", 3 * DAY, { locked: true, bytes: 300 }),
  aged("r5", 4 * DAY, { status: "in_progress" }),
  aged("s6", 5 * DAY, { bytes: 300 }),
  aged("lf7", 6 * DAY, { status: "failed", locked: true }),
  aged("f8", 7 * DAY, { status: "failed" }),
];

describe("retentionPlan", () => {
  it.each<{
    case: string;
    backups: BackupRecord[];
    options: RetentionOptions;
    remove: Record<string, string>;
  }>([
    { case: "no rule removes nothing", backups: mixed, options: {}, remove: {} },
    {
      case: "keepLast drops successful backups beyond the newest N",
      backups: [aged("a", 1 * MINUTE), aged("b", 2 * MINUTE), aged("c", 3 * MINUTE), aged("d", 4 * MINUTE)],
      options: { keepLast: 2 },
      remove: { c: "beyond the newest 2 successful backups", d: "beyond the newest 2 successful backups" },
    },
    {
      case: "keepLast counts locked backups among the newest N but never removes one",
      backups: [
        aged("a", MINUTE),
        aged("l", 2 * MINUTE, { locked: true }),
        aged("c", 3 * MINUTE),
        aged("ol", 4 * MINUTE, { locked: true }),
      ],
      options: { keepLast: 2 },
      remove: { c: "beyond the newest 2 successful backups" },
    },
    {
      case: "keepLast keeps failures newer than the N-th successful and drops older ones",
      backups: [
        aged("f0", MINUTE, { status: "failed" }),
        aged("a", 2 * MINUTE),
        aged("b", 3 * MINUTE),
        aged("f3", 4 * MINUTE, { status: "failed" }),
      ],
      options: { keepLast: 1 },
      remove: { b: "beyond the newest 1 successful backup", f3: "beyond the newest 1 successful backup" },
    },
    {
      case: "keepLast with fewer successful backups than N removes nothing, failed ones included",
      backups: [aged("a", MINUTE), aged("f", 2 * DAY, { status: "failed" })],
      options: { keepLast: 2 },
      remove: {},
    },
    {
      case: "keepLast never removes an in-progress backup",
      backups: [aged("a", MINUTE), aged("stuck", DAY, { status: "in_progress" })],
      options: { keepLast: 1 },
      remove: {},
    },
    {
      case: "maxAgeMs drops completed backups older than the age, failed ones included",
      backups: mixed,
      options: { maxAgeMs: DAY },
      remove: { s3: "older than 1 day", s6: "older than 1 day", f8: "older than 1 day" },
    },
    {
      case: "maxAgeMs keeps a backup exactly the age old",
      backups: [aged("a", MINUTE), aged("b", DAY), aged("c", DAY + 1)],
      options: { maxAgeMs: DAY },
      remove: { c: "older than 1 day" },
    },
    {
      case: "maxAgeMs never removes the newest successful backup",
      backups: [aged("f", 1 * DAY, { status: "failed" }), aged("a", 3 * DAY), aged("b", 4 * DAY)],
      options: { maxAgeMs: DAY / 2 },
      remove: { f: "older than 12 hours", b: "older than 12 hours" },
    },
    {
      case: "maxTotalBytes drops the oldest successful until the total fits",
      backups: [aged("a", 1 * MINUTE), aged("b", 2 * MINUTE), aged("c", 3 * MINUTE)],
      options: { maxTotalBytes: 250 },
      remove: { c: "over the total size cap of 250 bytes" },
    },
    {
      case: "maxTotalBytes counts locked bytes but removes only unlocked ones",
      backups: [aged("a", 1 * MINUTE), aged("b", 2 * MINUTE), aged("l", 3 * MINUTE, { locked: true })],
      options: { maxTotalBytes: 200 },
      remove: { b: "over the total size cap of 200 bytes" },
    },
    {
      case: "maxTotalBytes never removes the newest successful backup",
      backups: [aged("a", 1 * MINUTE, { bytes: 500 }), aged("b", 2 * MINUTE)],
      options: { maxTotalBytes: 1 },
      remove: { b: "over the total size cap of 1 byte" },
    },
    {
      case: "maxTotalBytes gives up when only locked bytes are over",
      backups: [aged("a", 1 * MINUTE), aged("l", 2 * MINUTE, { locked: true, bytes: 500 })],
      options: { maxTotalBytes: 200 },
      remove: {},
    },
    {
      case: "rules combine: each removes on its own, the first reason is kept",
      backups: [
        aged("a", 1 * MINUTE, { bytes: 100 }),
        aged("b", 2 * MINUTE, { bytes: 300 }),
        aged("c", 3 * MINUTE, { bytes: 100 }),
        aged("d", 2 * DAY, { bytes: 100 }),
        aged("l", 3 * DAY, { locked: true, bytes: 100 }),
        aged("e", 4 * DAY, { bytes: 100 }),
      ],
      options: { keepLast: 5, maxAgeMs: DAY, maxTotalBytes: 500 },
      remove: {
        e: "beyond the newest 5 successful backups",
        d: "older than 1 day",
        c: "over the total size cap of 500 bytes",
      },
    },
    {
      case: "a backup whose created_at does not parse is never removed",
      backups: [aged("a", MINUTE), { ...aged("bad", 2 * MINUTE), created_at: "yesterday" }],
      options: { keepLast: 1, maxAgeMs: 1, maxTotalBytes: 1 },
      remove: {},
    },
    {
      case: "uuids are data, even __proto__",
      backups: [aged("a", MINUTE), aged("__proto__", 2 * MINUTE)],
      options: { keepLast: 1 },
      remove: { ["__proto__"]: "beyond the newest 1 successful backup" },
    },
  ])("$case", ({ backups, options, remove }) => {
    const plan = retentionPlan(input(backups), options);
    expect(uuids(plan.remove).sort()).toEqual(Object.keys(remove).sort());
    expect(Object.entries(plan.reasons).sort()).toEqual(Object.entries(remove).sort());
    expect(uuids(plan.keep)).toEqual(uuids(backups).filter((uuid) => !Object.hasOwn(remove, uuid)));
  });

  it.each<RetentionOptions>([
    { keepLast: 1 },
    { maxAgeMs: 1 },
    { maxTotalBytes: 1 },
    { keepLast: 1, maxAgeMs: 1, maxTotalBytes: 1 },
  ])("never removes locked, in-progress or the newest successful backup: %o", (options) => {
    const plan = retentionPlan(input(mixed), options);
    expect(uuids(plan.keep)).toEqual(expect.arrayContaining(["s1", "l4", "r5", "lf7"]));
    expect(plan.remove.some((b) => b.is_locked || b.completed_at === null)).toBe(false);
    expect(plan.remove.length).toBeGreaterThan(0);
  });

  it.each<RetentionOptions>([{ keepLast: 1 }, { maxAgeMs: 1 }, { maxTotalBytes: 1 }])(
    "never removes the last backup that verified successfully: %o",
    (options) => {
      const backups = [
        record("newest", { ageMs: MINUTE, verification: "failed" }),
        record("verified", { ageMs: DAY, verification: "passed" }),
        record("older-verified", { ageMs: 2 * DAY, verification: "passed" }),
        record("never-verified", { ageMs: 3 * DAY }),
      ];
      const plan = retentionPlan(input(backups), options);
      expect(uuids(plan.keep)).toEqual(["newest", "verified"]);
      expect(plan.decisions[1]).toMatchObject({ action: "keep", reasons: ["last verified"] });
    },
  );

  it("keeps the input order and leaves the input untouched (a dry run)", () => {
    const backups = Object.freeze(
      [aged("old", 3 * DAY), aged("new", MINUTE), aged("mid", 2 * DAY)].map((b) => Object.freeze(b)),
    );
    const plan = retentionPlan(input([...backups]), { keepLast: 1 });
    expect(uuids(plan.remove)).toEqual(["old", "mid"]);
    expect(uuids(plan.keep)).toEqual(["new"]);
    expect(uuids(backups)).toEqual(["old", "new", "mid"]);
  });
});
