import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type BackupManager,
  type BackupManagerOptions,
  type BackupPolicy,
  type BackupScheduler,
  type BackupSchedulerOptions,
  createBackupManager,
  createBackupScheduler,
  createMemoryStorage,
  type PolicyInput,
  type ScheduledRun,
  type StorageAdapter,
} from "../src/index.js";
import { deferred, stallArchives, tempDirs, writeTree } from "./fixtures/manager-helpers.js";

const SERVER = "srv-1";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const dirs = tempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.useRealTimers();
  await dirs.cleanup();
});

/** Fakes only the clock and the timers the scheduler uses; the manager's I/O and workers stay real. */
function fakeClock(iso: string): void {
  vi.useFakeTimers({ now: new Date(iso), toFake: ["setTimeout", "clearTimeout", "Date"] });
}

async function setup(options: { storage?: StorageAdapter; policy?: BackupPolicy } = {}) {
  const dir = await dirs.make("schedule");
  await writeTree(join(dir, SERVER), { "server.properties": "motd=hello\n", "world/level.dat": "level-1" });
  const managerOptions: BackupManagerOptions = {
    storage: options.storage ?? createMemoryStorage(),
    serverRoot: (server) => join(dir, server),
    ...(options.policy ? { policy: options.policy } : {}),
  };
  const manager = createBackupManager(managerOptions);
  cleanups.push(() => manager.close());
  const create = vi.spyOn(manager, "create");
  return { manager, create };
}

/** Collects the runs a scheduler reports and lets a test await the n-th run of a status. */
function runLog() {
  const runs: ScheduledRun[] = [];
  const waiting: { status: ScheduledRun["status"]; count: number; resolve(run: ScheduledRun): void }[] = [];
  const matching = (status: ScheduledRun["status"]) => runs.filter((run) => run.status === status);
  return {
    runs,
    statuses: () => runs.map((run) => run.status),
    onRun(run: ScheduledRun) {
      runs.push(run);
      for (const waiter of [...waiting]) {
        const found = matching(waiter.status)[waiter.count - 1];
        if (found) {
          waiting.splice(waiting.indexOf(waiter), 1);
          waiter.resolve(found);
        }
      }
    },
    /** Resolves with the `count`-th run of `status`, reported already or later. */
    until(status: ScheduledRun["status"], count = 1): Promise<ScheduledRun> {
      const found = matching(status)[count - 1];
      if (found) return Promise.resolve(found);
      const { promise, resolve } = deferred<ScheduledRun>();
      waiting.push({ status, count, resolve });
      return promise;
    },
  };
}

function scheduler(manager: BackupManager, options: Partial<BackupSchedulerOptions> = {}): BackupScheduler {
  const made = createBackupScheduler({ manager, ...options });
  cleanups.push(() => made.stop({ cancel: true }));
  return made;
}

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe("run times", () => {
  it("reads 0 2 * * * in its time zone, once a night across both daylight saving changes", async () => {
    const { manager } = await setup();
    let clock = new Date("2025-03-28T12:00:00Z");
    const made = scheduler(manager, {
      now: () => clock,
      schedules: [
        { id: "berlin", server: SERVER, cron: "0 2 * * *", timezone: "Europe/Berlin" },
        { id: "utc", server: SERVER, cron: "0 2 * * *", timezone: "UTC" },
      ],
    });
    // 02:00 does not exist in Berlin on 30 March: the run moves to 03:00 CEST, the first minute after.
    expect(iso(made.nextRuns("berlin", 4))).toEqual([
      "2025-03-29T01:00:00.000Z",
      "2025-03-30T01:00:00.000Z",
      "2025-03-31T00:00:00.000Z",
      "2025-04-01T00:00:00.000Z",
    ]);
    expect(iso(made.nextRuns("utc", 2))).toEqual(["2025-03-29T02:00:00.000Z", "2025-03-30T02:00:00.000Z"]);
    // 02:00 happens twice in Berlin on 26 October: one run.
    clock = new Date("2025-10-24T12:00:00Z");
    expect(iso(made.nextRuns("berlin", 3))).toEqual([
      "2025-10-25T00:00:00.000Z",
      "2025-10-26T01:00:00.000Z",
      "2025-10-27T01:00:00.000Z",
    ]);
  });

  // Local times of the runs on the spring-forward day and the day after, in the schedule's zone.
  const springCases: [zone: string, day: string, cron: string, runs: string[]][] = [
    ["America/New_York", "2026-03-08", "0 2 * * *", ["03-08 03:00", "03-09 02:00"]],
    ["America/New_York", "2026-03-08", "15 2 * * *", ["03-08 03:00", "03-09 02:15"]],
    ["America/New_York", "2026-03-08", "30 2 * * *", ["03-08 03:00", "03-09 02:30"]],
    ["America/New_York", "2026-03-08", "59 2 * * *", ["03-08 03:00", "03-09 02:59"]],
    ["America/New_York", "2026-03-08", "30 3 * * *", ["03-08 03:30", "03-09 03:30"]],
    // Three skipped times run once, and 03:00 itself is not run twice.
    ["America/New_York", "2026-03-08", "*/20 2,3 * * *", ["03-08 03:00", "03-08 03:20", "03-08 03:40"]],
    ["Europe/Berlin", "2026-03-29", "30 2 * * *", ["03-29 03:00", "03-30 02:30"]],
    ["Europe/Berlin", "2026-03-29", "59 2 * * *", ["03-29 03:00", "03-30 02:59"]],
    // Lord Howe Island moves by 30 minutes, from 02:00 to 02:30.
    ["Australia/Lord_Howe", "2026-10-04", "0 2 * * *", ["10-04 02:30", "10-05 02:00"]],
    ["Australia/Lord_Howe", "2026-10-04", "15 2 * * *", ["10-04 02:30", "10-05 02:15"]],
    ["Australia/Lord_Howe", "2026-10-04", "30 2 * * *", ["10-04 02:30", "10-05 02:30"]],
    ["Australia/Lord_Howe", "2026-10-04", "45 2 * * *", ["10-04 02:45", "10-05 02:45"]],
  ];
  it.each(springCases)(
    "runs a time skipped in spring at the first minute after the change: %s %s %s",
    async (zone, day, cron, runs) => {
      const { manager } = await setup();
      // Noon UTC the day before: after that day's runs and before the change in every zone above.
      const made = scheduler(manager, {
        now: () => new Date(Date.parse(`${day}T12:00:00Z`) - 24 * HOUR),
        schedules: [{ id: "spring", server: SERVER, cron, timezone: zone }],
      });
      const local = (date: Date) => date.toLocaleString("sv-SE", { timeZone: zone }).slice(5, 16);
      expect(made.nextRuns("spring", runs.length).map(local)).toEqual(runs);
    },
  );

  it("lists schedules with their time zone resolved and accepts cron nicknames", async () => {
    const { manager } = await setup();
    const made = scheduler(manager, {
      now: () => new Date("2025-01-15T10:30:00Z"),
      schedules: [
        { id: "nightly", server: SERVER, cron: "  0   2 * * *", timezone: "europe/berlin", ignored: "*.log" },
      ],
    });
    const daily = made.add({ server: SERVER, cron: "@daily", timezone: "UTC" });
    expect(made.list()).toEqual([
      {
        id: "nightly",
        server: SERVER,
        cron: "0 2 * * *",
        timezone: "Europe/Berlin",
        ignored: ["*.log"],
        locked: false,
      },
      { id: daily.id, server: SERVER, cron: "@daily", timezone: "UTC", ignored: [], locked: false },
    ]);
    expect(iso(made.nextRuns(daily.id, 1))).toEqual(["2025-01-16T00:00:00.000Z"]);
    expect(made.remove("nightly")).toBe(true);
    expect(made.remove("nightly")).toBe(false);
    expect(made.list().map((schedule) => schedule.id)).toEqual([daily.id]);
  });
});

describe("running on a fake clock", () => {
  it("backs up at 02:00 Berlin time on the night the clocks go forward, named after the run time", async () => {
    fakeClock("2025-03-29T22:00:00Z");
    const { manager, create } = await setup();
    const log = runLog();
    const made = scheduler(manager, {
      onRun: log.onRun,
      schedules: [
        {
          id: "nightly",
          server: SERVER,
          cron: "0 2 * * *",
          timezone: "Europe/Berlin",
          name: (at) => `Nightly ${at.toISOString()}`,
        },
      ],
    });
    made.start();
    await vi.advanceTimersByTimeAsync(3 * HOUR - 1000);
    expect(create).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000);
    expect(create).toHaveBeenCalledTimes(1);
    const [server, input] = create.mock.calls[0] ?? [];
    expect(server).toBe(SERVER);
    expect(input).toMatchObject({ name: "Nightly 2025-03-30T01:00:00.000Z", scheduled: true, locked: false });
    expect(input).not.toHaveProperty("actor");
    const finished = await log.until("finished");
    expect(finished).toMatchObject({
      schedule: "nightly",
      server: SERVER,
      scheduledAt: new Date("2025-03-30T01:00:00Z"),
      backup: { name: "Nightly 2025-03-30T01:00:00.000Z", is_successful: true },
    });
    expect(log.statuses()).toEqual(["started", "finished"]);
  });

  it("skips a tick while the previous scheduled backup still runs, and runs again once it ended", async () => {
    fakeClock("2025-01-15T10:00:30Z");
    const stalled = stallArchives(createMemoryStorage());
    const { manager, create } = await setup({ storage: stalled.storage });
    const log = runLog();
    const made = scheduler(manager, {
      onRun: log.onRun,
      schedules: [{ id: "minutely", server: SERVER, cron: "* * * * *", timezone: "UTC" }],
    });
    made.start();
    await vi.advanceTimersByTimeAsync(30_000);
    await stalled.uploading;
    await vi.advanceTimersByTimeAsync(MINUTE);
    const skipped = await log.until("skipped");
    expect(skipped).toMatchObject({
      status: "skipped",
      reason: "scheduled-backup-running",
      scheduledAt: new Date("2025-01-15T10:02:00Z"),
    });
    expect(create).toHaveBeenCalledTimes(1);
    stalled.release();
    await log.until("finished");
    await vi.advanceTimersByTimeAsync(MINUTE);
    await log.until("finished", 2);
    expect(create).toHaveBeenCalledTimes(2);
    expect(log.statuses()).toEqual(["started", "skipped", "finished", "started", "finished"]);
  });

  it("skips a tick while the server runs a backup someone started by hand", async () => {
    fakeClock("2025-01-15T10:00:30Z");
    const stalled = stallArchives(createMemoryStorage());
    const { manager } = await setup({ storage: stalled.storage });
    const manual = await manager.create(SERVER, { name: "By hand" });
    await stalled.uploading;
    const log = runLog();
    scheduler(manager, {
      onRun: log.onRun,
      schedules: [{ server: SERVER, cron: "* * * * *", timezone: "UTC" }],
    }).start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await log.until("skipped")).toMatchObject({
      reason: "server-busy",
      busyWith: { operation: "backup", backup: manual.uuid },
    });
    expect(log.statuses()).toEqual(["skipped"]);
    stalled.release();
    await manager.wait(SERVER, manual.uuid);
  });

  it("reports a refusal at the limit, and rotates out the oldest backup once it may", async () => {
    fakeClock("2025-01-15T10:00:30Z");
    const asked: (PolicyInput & { scheduled: boolean })[] = [];
    // One backup per server; a scheduled one may replace the oldest unlocked, successful backup.
    const policy: BackupPolicy = {
      create(input) {
        asked.push(input);
        if (input.backups.length < 1) return { ok: true };
        const oldest = input.backups.at(-1);
        if (input.scheduled && oldest?.is_successful && !oldest.is_locked)
          return { ok: true, rotate: [oldest.uuid] };
        return {
          ok: false,
          code: "BACKUP_LIMIT_REACHED",
          message: "This server has reached its backup limit.",
        };
      },
    };
    const { manager } = await setup({ policy });
    const kept = await manager.wait(SERVER, (await manager.create(SERVER, { name: "Keep" })).uuid);
    await manager.setLocked(SERVER, kept.uuid, true);
    const log = runLog();
    scheduler(manager, {
      onRun: log.onRun,
      schedules: [{ id: "minutely", server: SERVER, cron: "* * * * *", timezone: "UTC" }],
    }).start();

    await vi.advanceTimersByTimeAsync(30_000);
    const refused = await log.until("refused");
    expect(refused).toMatchObject({ schedule: "minutely", error: { code: "BACKUP_LIMIT_REACHED" } });
    expect(asked.at(-1)).toMatchObject({ scheduled: true, actor: undefined });

    await manager.setLocked(SERVER, kept.uuid, false);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(await log.until("finished")).toMatchObject({ backup: { is_successful: true } });
    const { data } = await manager.list(SERVER);
    expect(data).toHaveLength(1);
    expect(data[0]?.uuid).not.toBe(kept.uuid);
  });

  it("stops arming runs on stop(), after letting the running backup finish", async () => {
    fakeClock("2025-01-15T10:00:30Z");
    const stalled = stallArchives(createMemoryStorage());
    const { manager, create } = await setup({ storage: stalled.storage });
    const log = runLog();
    const made = scheduler(manager, {
      onRun: log.onRun,
      schedules: [{ server: SERVER, cron: "* * * * *", timezone: "UTC" }],
    });
    made.start();
    await vi.advanceTimersByTimeAsync(30_000);
    await stalled.uploading;
    let stopped = false;
    const stopping = made.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(stopped).toBe(false);
    stalled.release();
    await stopping;
    expect(log.statuses()).toEqual(["started", "finished"]);
    expect(log.runs[1]).toMatchObject({ backup: { is_successful: true } });
    await vi.advanceTimersByTimeAsync(24 * HOUR);
    expect(create).toHaveBeenCalledTimes(1);
  });

  it("cancels the running scheduled backup on stop({ cancel: true })", async () => {
    fakeClock("2025-01-15T10:00:30Z");
    const stalled = stallArchives(createMemoryStorage());
    const { manager } = await setup({ storage: stalled.storage });
    const log = runLog();
    const made = scheduler(manager, {
      onRun: log.onRun,
      schedules: [{ server: SERVER, cron: "* * * * *", timezone: "UTC" }],
    });
    made.start();
    await vi.advanceTimersByTimeAsync(30_000);
    await stalled.uploading;
    await made.stop({ cancel: true });
    expect(log.runs.at(-1)).toMatchObject({
      status: "finished",
      backup: { is_successful: false, error: "cancelled" },
    });
  });

  it("keeps running when onRun throws, and hands the error to onError", async () => {
    fakeClock("2025-01-15T10:00:30Z");
    const { manager, create } = await setup();
    const errors: unknown[] = [];
    const finished = deferred();
    const made = scheduler(manager, {
      onRun: (run) => {
        if (run.status === "finished") finished.resolve();
        throw new Error(`listener broke on ${run.status}`);
      },
      onError: (error, schedule) => errors.push([(error as Error).message, schedule.id]),
      schedules: [{ id: "minutely", server: SERVER, cron: "* * * * *", timezone: "UTC" }],
    });
    made.start();
    await vi.advanceTimersByTimeAsync(30_000);
    await finished.promise;
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(create).toHaveBeenCalledTimes(2);
    expect(errors.slice(0, 2)).toEqual([
      ["listener broke on started", "minutely"],
      ["listener broke on finished", "minutely"],
    ]);
  });
});

describe("validation", () => {
  const invalid = expect.objectContaining({ code: "INVALID_INPUT" });
  const bad = [
    ["a cron expression with four fields", { cron: "0 2 * *" }, /five fields/],
    ["a minute out of range", { cron: "61 * * * *" }, /Invalid value for minute: 61/],
    ["a seconds field", { cron: "0 0 2 * * *" }, /has 6 fields/],
    ["a date instead of an expression", { cron: "2025-01-01T00:00:00" }, /has 1 field\)/],
    ["a date that never comes", { cron: "0 0 31 2 *" }, /never matches/],
    ["an unknown time zone", { cron: "0 2 * * *", timezone: "Mars/Olympus_Mons" }, /IANA name/],
    ["a server id with a slash", { cron: "0 2 * * *", server: "../etc" }, /server id/],
    ["a name too long", { cron: "0 2 * * *", name: "x".repeat(192) }, /191/],
    ["a non-boolean lock", { cron: "0 2 * * *", locked: "yes" as unknown as boolean }, /locked/],
  ] as const;

  it.each(bad)("refuses %s with INVALID_INPUT, up front", async (_what, fields, message) => {
    const { manager } = await setup();
    const schedule = { server: SERVER, ...fields };
    expect(() => createBackupScheduler({ manager, schedules: [schedule] })).toThrow(invalid);
    const made = scheduler(manager, { schedules: [{ id: "good", server: SERVER, cron: "0 2 * * *" }] });
    expect(() => made.add(schedule)).toThrow(message);
    expect(made.list().map((entry) => entry.id)).toEqual(["good"]);
  });

  it("refuses a taken id, a bad count and an unknown schedule", async () => {
    const { manager } = await setup();
    const made = scheduler(manager, { schedules: [{ id: "nightly", server: SERVER, cron: "0 2 * * *" }] });
    expect(() => made.add({ id: "nightly", server: SERVER, cron: "0 3 * * *" })).toThrow(invalid);
    expect(() => made.nextRuns("nightly", 0)).toThrow(invalid);
    expect(() => made.nextRuns("nightly", 101)).toThrow(invalid);
    expect(() => made.nextRuns("weekly", 1)).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
  });
});
