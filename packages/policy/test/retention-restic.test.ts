// Differential tests: the keep rules against the real `restic forget --dry-run` on the same snapshot times,
// in the same time zone (restic reads it from TZ), kept sets and keep reasons alike.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RetentionOptions, retentionPlan } from "../src/index.js";
import { type ResticRepository, resticRepository } from "./restic.js";

const RESTIC_SETUP_TIMEOUT_MS = 180_000;

const FLAGS = {
  keepLast: "--keep-last",
  keepHourly: "--keep-hourly",
  keepDaily: "--keep-daily",
  keepWeekly: "--keep-weekly",
  keepMonthly: "--keep-monthly",
  keepYearly: "--keep-yearly",
  keepWithin: "--keep-within",
} as const;

/** The command line restic takes for the same keep rules. */
function resticFlags(options: RetentionOptions): string[] {
  return Object.entries(FLAGS).flatMap(([option, flag]) => {
    const value = options[option as keyof typeof FLAGS];
    return value === undefined ? [] : [flag, String(value)];
  });
}

/** Our plan's kept backups with the keep-rule reasons, in restic's words (`daily snapshot`, `within 1d`). */
function keptLikeRestic(repo: ResticRepository, options: RetentionOptions, timeZone: string) {
  const plan = retentionPlan(
    { server: "srv", now: new Date(), backups: repo.records },
    { ...options, timeZone },
  );
  const kept = new Map<string, string[]>();
  for (const { backup, action, reasons } of plan.decisions) {
    if (action === "remove") continue;
    const rules = reasons.filter((reason) => reason !== "newest successful");
    kept.set(
      backup.uuid,
      rules.map((reason) => (reason.startsWith("within ") ? reason : `${reason} snapshot`)),
    );
  }
  return kept;
}

/** Runs each rule set through restic and through `retentionPlan` and expects the same answer. */
function compareWithRestic(
  timeZone: string,
  instants: () => number[],
  ruleSets: RetentionOptions[],
  extra?: (repo: () => ResticRepository) => void,
) {
  let repo: ResticRepository;
  let resticKept: Map<string, string[]>[];
  // The hook timeout guards against a hang, not a speed: this set-up runs one restic process per snapshot
  // and per rule set (up to 25), each seconds long on a loaded 2-core machine, where 60 s was once exceeded.
  beforeAll(async () => {
    repo = await resticRepository(timeZone, instants());
    expect(repo.records).toHaveLength(instants().length);
    resticKept = await repo.forget(timeZone, ruleSets.map(resticFlags));
  }, RESTIC_SETUP_TIMEOUT_MS);
  afterAll(() => repo?.remove());

  it.each(ruleSets.map((options, index) => ({ options, index })))(
    `keeps what restic keeps in ${timeZone}: %o`,
    ({ options, index }) => {
      const restic = resticKept[index]!;
      const ours = keptLikeRestic(repo, options, timeZone);
      expect(new Map([...ours].sort())).toEqual(new Map([...restic].sort()));
      expect(ours.size).toBeLessThan(repo.records.length);
    },
  );
  extra?.(() => repo);
}

const utc = (...times: string[]) => times.map((time) => Date.parse(`${time}Z`));

describe("keep rules against restic", () => {
  // restic's documentation of forget: one backup every Sunday for 12 weeks; the times are wall clocks
  // of Europe/Berlin, whose summer time ends on 27 October 2019, in the middle of the set.
  const sundays = () =>
    Array.from(
      { length: 12 },
      (_, week) => Date.parse("2019-09-01T11:00:00+02:00") + week * 7 * 86_400_000,
    ).map((ms) => (ms >= Date.parse("2019-10-27T01:00:00Z") ? ms + 3_600_000 : ms));
  describe("restic's documented example (12 Sundays)", () => {
    compareWithRestic(
      "Europe/Berlin",
      sundays,
      [
        { keepDaily: 4 },
        { keepWeekly: 3, keepMonthly: 2 },
        { keepLast: 2, keepWithin: "1m" },
        { keepWithin: "21d" },
        { keepYearly: 1, keepMonthly: 1 },
      ],
      (repo) => {
        it("keeps the last four Sundays for --keep-daily 4, as the documentation shows", () => {
          const plan = retentionPlan(
            { server: "srv", now: new Date(), backups: repo().records },
            { keepDaily: 4, timeZone: "Europe/Berlin" },
          );
          const kept = plan.keep.map((backup) => backup.created_at).sort();
          expect(kept).toEqual([
            "2019-10-27T10:00:00+00:00",
            "2019-11-03T10:00:00+00:00",
            "2019-11-10T10:00:00+00:00",
            "2019-11-17T10:00:00+00:00",
          ]);
          expect(plan.remove).toHaveLength(8);
        });
      },
    );
  });

  // New York's clocks jump from 02:00 to 03:00 on 14 March 2021 and repeat 01:00-02:00 on 7 November.
  describe("daylight saving time changes (America/New_York)", () => {
    compareWithRestic(
      "America/New_York",
      () => [
        ...utc("2021-03-14T03:30", "2021-03-14T05:30", "2021-03-14T06:30", "2021-03-14T06:59"),
        ...utc(
          "2021-03-14T07:00",
          "2021-03-14T07:30",
          "2021-03-14T08:30",
          "2021-03-15T03:59",
          "2021-03-15T04:01",
        ),
        ...utc("2021-11-07T03:30", "2021-11-07T04:30", "2021-11-07T05:10", "2021-11-07T05:50"),
        // 01:20 standard time: the same wall-clock hour as 01:10 and 01:50 daylight time.
        ...utc("2021-11-07T06:20", "2021-11-07T07:30", "2021-11-08T04:30", "2021-11-08T05:30"),
      ],
      [
        { keepHourly: 6 },
        { keepHourly: 40 },
        { keepDaily: 4 },
        { keepWeekly: 3 },
        // One calendar day back from 8 November 00:30 standard time is 7 November 00:30 daylight time:
        // 25 hours, so 01:10 daylight time stays.
        { keepWithin: "1d" },
        { keepWithin: "2h" },
        { keepWithin: "7m23d23h" },
        { keepLast: 3, keepHourly: 2, keepDaily: 2, keepMonthly: 1 },
      ],
    );
  });

  describe("a seeded set of irregular backups (Australia/Sydney)", () => {
    compareWithRestic("Australia/Sydney", () => irregularTimes(20_251_204, 16), [
      { keepLast: 3 },
      { keepHourly: 4, keepDaily: 3 },
      { keepDaily: 5, keepWeekly: 3, keepMonthly: 4, keepYearly: 2 },
      { keepWithin: "1m10d" },
      { keepWeekly: 2, keepWithin: "4d12h" },
      { keepMonthly: 6, keepYearly: 5 },
    ]);
  });
});

/**
 * `count` whole-second instants from 2021 on, gaps drawn from minutes, hours and weeks so that buckets
 * both collide and stay empty. Same seed, same times.
 */
function irregularTimes(seed: number, count: number): number[] {
  let state = seed >>> 0;
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const scales = [60_000, 3_600_000, 7 * 86_400_000];
  const times: number[] = [];
  let time = Date.parse("2021-01-01T00:00:00Z");
  for (let i = 0; i < count; i++) {
    const scale = scales[Math.floor(random() * scales.length)]!;
    time += Math.max(1000, Math.round((random() * 50 * scale) / 1000) * 1000);
    times.push(time);
  }
  return times;
}
