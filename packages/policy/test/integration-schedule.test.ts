// A nightly schedule at the limit, with the real manager and the real policy, on a fake clock.
import { createBackupScheduler, type ScheduledRun } from "@strongbox/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADAPTERS, cleanup, deferred, SERVER, setup } from "./integration-setup.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  vi.useRealTimers();
  await cleanup();
});

/** Fakes only the clock and the timers the scheduler uses; the manager's I/O stays real. */
function fakeClock(iso: string): void {
  vi.useFakeTimers({ now: new Date(iso), toFake: ["setTimeout", "clearTimeout", "Date"] });
}

type Status = ScheduledRun["status"];
type RunOf<S extends Status> = Extract<ScheduledRun, { status: S }>;

/** Collects a scheduler's runs; `next(status)` resolves with the next run of that status. */
function runLog() {
  const runs: ScheduledRun[] = [];
  const waiting = new Map<Status, (run: ScheduledRun) => void>();
  return {
    runs,
    onRun(run: ScheduledRun) {
      runs.push(run);
      waiting.get(run.status)?.(run);
      waiting.delete(run.status);
    },
    next<S extends Status>(status: S): Promise<RunOf<S>> {
      const { promise, resolve } = deferred<RunOf<S>>();
      waiting.set(status, (run) => resolve(run as RunOf<S>));
      return promise;
    },
  };
}

describe.each(ADAPTERS)("a 0 2 * * * schedule with createPolicy on the $name adapter", (adapter) => {
  it("rotates out the oldest successful unlocked backup each night at the limit, never the locked one", async () => {
    fakeClock("2025-01-14T10:00:00Z");
    const { manager, backup, uuids } = await setup(adapter, {
      policy: { maxBackups: 2 },
      now: () => new Date(),
    });
    const locked = await backup({ name: "locked", locked: true });
    vi.setSystemTime(new Date("2025-01-14T11:00:00Z"));
    const old = await backup({ name: "old" });
    vi.setSystemTime(new Date("2025-01-15T01:59:30Z"));

    const log = runLog();
    const scheduler = createBackupScheduler({
      manager,
      onRun: log.onRun,
      schedules: [{ id: "nightly", server: SERVER, cron: "0 2 * * *", timezone: "UTC", name: "Nightly" }],
    });
    stops.push(() => scheduler.stop({ cancel: true }));
    scheduler.start();

    const firstNight = log.next("finished");
    await vi.advanceTimersByTimeAsync(30_000);
    const first = await firstNight;
    expect(first).toMatchObject({
      schedule: "nightly",
      scheduledAt: new Date("2025-01-15T02:00:00Z"),
      backup: { name: "Nightly", is_successful: true, created_at: "2025-01-15T02:00:00.000+00:00" },
    });
    expect(await uuids()).toEqual([first.backup.uuid, locked.uuid]);
    expect(await manager.get(SERVER, old.uuid).catch((error) => error.code)).toBe("NOT_FOUND");

    const secondNight = log.next("finished");
    await vi.advanceTimersByTimeAsync(DAY);
    const second = await secondNight;
    expect(second.backup).toMatchObject({ is_successful: true, created_at: "2025-01-16T02:00:00.000+00:00" });
    expect(await uuids()).toEqual([second.backup.uuid, locked.uuid]);
    expect(log.runs.map((run) => run.status)).toEqual(["started", "finished", "started", "finished"]);
  });

  it("reports a refused night when only locked backups fill the limit, and deletes nothing", async () => {
    fakeClock("2025-01-14T10:00:00Z");
    const { manager, backup, uuids } = await setup(adapter, {
      policy: { maxBackups: 1 },
      now: () => new Date(),
    });
    const locked = await backup({ name: "locked", locked: true });
    vi.setSystemTime(new Date("2025-01-15T01:59:30Z"));

    const log = runLog();
    const scheduler = createBackupScheduler({
      manager,
      onRun: log.onRun,
      schedules: [{ server: SERVER, cron: "0 2 * * *", timezone: "UTC" }],
    });
    stops.push(() => scheduler.stop({ cancel: true }));
    scheduler.start();

    const refused = log.next("refused");
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await refused).toMatchObject({
      scheduledAt: new Date("2025-01-15T02:00:00Z"),
      error: { code: "BACKUP_LIMIT_REACHED", message: "This server has reached its backup limit." },
    });
    expect(await uuids()).toEqual([locked.uuid]);
  });
});
