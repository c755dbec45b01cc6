import { describe, expect, it } from "vitest";
import { checkLimit } from "../src/index.js";
import { record, successful } from "./records.js";

const LIMIT_MESSAGE = "This server has reached its backup limit.";

describe("checkLimit", () => {
  it.each([
    { case: "unlimited when undefined", backups: successful(5), max: undefined },
    { case: "below the limit", backups: successful(2), max: 3 },
    { case: "empty server, limit 1", backups: [], max: 1 },
  ])("allows: $case", ({ backups, max }) => {
    expect(checkLimit(backups, max)).toEqual({ ok: true });
  });

  it.each([
    { case: "limit 0 allows none", backups: [], max: 0 },
    { case: "exactly at the limit", backups: successful(3), max: 3 },
    { case: "over a lowered limit", backups: successful(4), max: 3 },
    {
      case: "failed backups count",
      backups: [record("a"), record("f1", { status: "failed" }), record("f2", { status: "failed" })],
      max: 3,
    },
    {
      case: "in-progress backups count",
      backups: [record("a"), record("r", { status: "in_progress" })],
      max: 2,
    },
    { case: "locked backups count", backups: [record("a", { locked: true })], max: 1 },
  ])("refuses: $case", ({ backups, max }) => {
    expect(checkLimit(backups, max)).toEqual({
      ok: false,
      code: "BACKUP_LIMIT_REACHED",
      message: LIMIT_MESSAGE,
      details: { limit: max, count: backups.length },
    });
  });
});
