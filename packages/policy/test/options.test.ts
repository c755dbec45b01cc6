import { describe, expect, it } from "vitest";
import type { PolicyOptions } from "../src/index.js";
import { createPolicy } from "../src/index.js";

describe("createPolicy options", () => {
  it.each<PolicyOptions>([
    {},
    { maxBackups: 0 },
    { maxBackups: 3, rotateScheduled: false, requirePermissions: false },
    { maxBackups: () => 2 },
    { throttle: { limit: 2, periodMs: 600_000 } },
    { retention: { keepLast: 1, maxAgeMs: 1, maxTotalBytes: 1 } },
    {
      retention: {
        keepHourly: 24,
        keepDaily: 7,
        keepWeekly: 4,
        keepMonthly: 12,
        keepYearly: 3,
        keepWithin: "1y2m3d4h",
        timeZone: "America/New_York",
      },
    },
  ])("accepts %o", (options) => {
    expect(typeof createPolicy(options).create).toBe("function");
  });

  it.each<[PolicyOptions, string]>([
    [{ maxBackups: -1 }, "maxBackups must be an integer of at least 0, got -1."],
    [{ maxBackups: 1.5 }, "maxBackups must be an integer of at least 0, got 1.5."],
    [{ maxBackups: Number.NaN }, "maxBackups must be an integer of at least 0, got NaN."],
    [{ throttle: { limit: 0, periodMs: 1000 } }, "throttle.limit must be an integer of at least 1, got 0."],
    [{ throttle: { limit: 1, periodMs: 0 } }, "throttle.periodMs must be a number above 0, got 0."],
    [
      { throttle: { limit: 1, periodMs: Number.POSITIVE_INFINITY } },
      "throttle.periodMs must be a number above 0, got Infinity.",
    ],
    [{ retention: { keepLast: 0 } }, "retention.keepLast must be an integer of at least 1, got 0."],
    [{ retention: { keepYearly: 1.5 } }, "retention.keepYearly must be an integer of at least 1, got 1.5."],
    [
      { retention: { keepWithin: "0d" } },
      'retention.keepWithin must be a duration like 1y5m7d2h (years, months, days, hours; at least one above 0), got "0d".',
    ],
    [
      { retention: { keepWithin: "2h1d" } },
      'retention.keepWithin must be a duration like 1y5m7d2h (years, months, days, hours; at least one above 0), got "2h1d".',
    ],
    [
      { retention: { timeZone: "CEST+2" } },
      'retention.timeZone must be an IANA time zone name like Europe/Berlin, got "CEST+2".',
    ],
    [{ retention: { maxAgeMs: -5 } }, "retention.maxAgeMs must be a number above 0, got -5."],
    [{ retention: { maxTotalBytes: 0 } }, "retention.maxTotalBytes must be an integer of at least 1, got 0."],
  ])("rejects %o", (options, message) => {
    expect(() => createPolicy(options)).toThrow(new RangeError(message));
  });
});
