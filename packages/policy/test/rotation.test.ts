import { describe, expect, it } from "vitest";
import type { BackupRecord } from "../src/index.js";
import { rotateToFit, rotationCandidates } from "../src/index.js";
import { MINUTE, record } from "./records.js";

const at = (minutes: number, extra: Parameters<typeof record>[1] = {}) => ({
  ageMs: minutes * MINUTE,
  ...extra,
});

describe("rotateToFit", () => {
  it.each<{ case: string; backups: BackupRecord[]; max: number; rotate: string[] | undefined }>([
    { case: "below the limit rotates nothing", backups: [record("a", at(1))], max: 2, rotate: undefined },
    {
      case: "at the limit deletes the oldest successful",
      backups: [record("new", at(1)), record("mid", at(2)), record("old", at(3))],
      max: 3,
      rotate: ["old"],
    },
    {
      case: "skips a locked oldest",
      backups: [record("new", at(1)), record("mid", at(2)), record("old", at(3, { locked: true }))],
      max: 3,
      rotate: ["mid"],
    },
    {
      case: "skips an in-progress backup",
      backups: [record("new", at(1)), record("old", at(3, { status: "in_progress" }))],
      max: 2,
      rotate: ["new"],
    },
    {
      case: "rotates the oldest failed backup before any successful one",
      backups: [
        record("f1", at(1, { status: "failed" })),
        record("ok", at(2)),
        record("f3", at(3, { status: "failed" })),
      ],
      max: 3,
      rotate: ["f3"],
    },
    {
      case: "a scheduled backup that keeps failing never eats the good ones",
      backups: [record("f1", at(1, { status: "failed" })), record("ok2", at(2)), record("ok3", at(3))],
      max: 3,
      rotate: ["f1"],
    },
    {
      case: "a locked failed backup first: a lock protects an archive, and it has none",
      backups: [record("f1", at(1, { status: "failed", locked: true })), record("ok", at(2))],
      max: 2,
      rotate: ["f1"],
    },
    {
      case: "a lowered limit frees enough slots for one more",
      backups: [record("a", at(1)), record("b", at(2)), record("c", at(3)), record("d", at(4))],
      max: 2,
      rotate: ["d", "c", "b"],
    },
    {
      case: "orders by created_at, not by input order",
      backups: [record("old", at(9)), record("new", at(1))],
      max: 2,
      rotate: ["old"],
    },
  ])("allows: $case", ({ backups, max, rotate }) => {
    expect(rotateToFit(backups, max)).toEqual(rotate === undefined ? { ok: true } : { ok: true, rotate });
  });

  it.each<{ case: string; backups: BackupRecord[]; max: number; rotatable: number }>([
    { case: "limit 0, even with candidates", backups: [record("a")], max: 0, rotatable: 1 },
    { case: "limit 0 on an empty server", backups: [], max: 0, rotatable: 0 },
    {
      case: "every backup locked",
      backups: [record("a", at(1, { locked: true })), record("b", at(2, { locked: true }))],
      max: 2,
      rotatable: 0,
    },
    {
      case: "only locked successful and in-progress backups",
      backups: [
        record("l", at(1, { locked: true })),
        record("r", at(2, { status: "in_progress" })),
        record("lr", at(3, { status: "in_progress", locked: true })),
      ],
      max: 3,
      rotatable: 0,
    },
    {
      case: "too few candidates for a lowered limit",
      backups: [record("a", at(1)), record("l", at(2, { locked: true })), record("b", at(3))],
      max: 1,
      rotatable: 2,
    },
  ])("refuses: $case", ({ backups, max, rotatable }) => {
    expect(rotateToFit(backups, max)).toEqual({
      ok: false,
      code: "BACKUP_LIMIT_REACHED",
      message: "This server has reached its backup limit.",
      details: { limit: max, count: backups.length, rotatable },
    });
  });
});

describe("rotationCandidates", () => {
  it("never offers the last backup that verified successfully, even the oldest", () => {
    const backups = [
      record("b1", at(1, { verification: "failed" })),
      record("b2", at(2)),
      record("b3", at(3, { verification: "passed" })),
      record("b4", at(4, { verification: "passed" })),
    ];
    expect(rotationCandidates(backups).map((b) => b.uuid)).toEqual(["b4", "b2", "b1"]);
    expect(rotateToFit(backups, 2)).toEqual({ ok: true, rotate: ["b4", "b2", "b1"] });
    expect(rotateToFit(backups, 1)).toMatchObject({ ok: false, code: "BACKUP_LIMIT_REACHED" });
  });

  it("lists failed backups (locked ones too), then unlocked successful ones, each oldest first", () => {
    const undatable = { ...record("undatable"), created_at: "not a date" };
    const backups = [
      record("b1", at(1)),
      record("locked", at(2, { locked: true })),
      record("failed", at(3, { status: "failed" })),
      record("running", at(4, { status: "in_progress" })),
      record("b5", at(5)),
      record("locked-failed", at(6, { status: "failed", locked: true })),
      record("locked-running", at(7, { status: "in_progress", locked: true })),
      undatable,
    ];
    expect(rotationCandidates(backups).map((b) => b.uuid)).toEqual(["locked-failed", "failed", "b5", "b1"]);
  });
});
