import { describe, expect, it } from "vitest";
import type { BackupRecord } from "../src/index.js";
import { checkThrottle } from "../src/index.js";
import { MINUTE, NOW, record } from "./records.js";

const TWO_PER_10_MIN = { limit: 2, periodMs: 10 * MINUTE };
const ago = (uuid: string, ageMs: number, status: "successful" | "failed" | "in_progress" = "successful") =>
  record(uuid, { ageMs, status });

describe("checkThrottle", () => {
  it.each<{ case: string; backups: BackupRecord[] }>([
    { case: "no backups", backups: [] },
    { case: "one in the window", backups: [ago("a", MINUTE)] },
    {
      case: "window boundary: a creation exactly one period old no longer counts",
      backups: [ago("a", MINUTE), ago("b", 10 * MINUTE)],
    },
    {
      case: "older creations do not count",
      backups: [ago("a", MINUTE), ago("b", 11 * MINUTE), ago("c", 60 * MINUTE)],
    },
    {
      case: "failed backups do not count",
      backups: [ago("f1", MINUTE, "failed"), ago("f2", 2 * MINUTE, "failed")],
    },
  ])("allows: $case", ({ backups }) => {
    expect(checkThrottle(backups, NOW, TWO_PER_10_MIN)).toEqual({ ok: true });
  });

  it.each<{ case: string; backups: BackupRecord[]; wait: number }>([
    { case: "two in the window", backups: [ago("a", MINUTE), ago("b", 4 * MINUTE)], wait: 360 },
    {
      case: "window boundary: one millisecond inside still counts",
      backups: [ago("a", 0), ago("b", 10 * MINUTE - 1)],
      wait: 1,
    },
    {
      case: "in-progress backups count",
      backups: [ago("r", MINUTE, "in_progress"), ago("b", 2 * MINUTE)],
      wait: 480,
    },
    {
      case: "the wait is until the limit-th newest expires",
      backups: [ago("a", MINUTE), ago("b", 2 * MINUTE), ago("c", 3 * MINUTE)],
      wait: 480,
    },
    { case: "input order does not matter", backups: [ago("old", 4 * MINUTE), ago("new", MINUTE)], wait: 360 },
  ])("refuses: $case", ({ backups, wait }) => {
    expect(checkThrottle(backups, NOW, TWO_PER_10_MIN)).toEqual({
      ok: false,
      code: "THROTTLED",
      message: `Only 2 backups may be created every 10 minutes; try again in ${wait} second${wait === 1 ? "" : "s"}.`,
      details: { limit: 2, periodMs: 10 * MINUTE, retryAfterSeconds: wait },
    });
  });

  it("rounds the wait up to whole seconds and speaks in the singular", () => {
    const decision = checkThrottle([ago("a", 60_500)], NOW, { limit: 1, periodMs: 90_000 });
    expect(decision).toMatchObject({
      code: "THROTTLED",
      message: "Only 1 backup may be created every 90 seconds; try again in 30 seconds.",
      details: { retryAfterSeconds: 30 },
    });
  });
});
