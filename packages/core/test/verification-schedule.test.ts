import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLocalStorage } from "../../storage-local/src/index.js";
import {
  type BackupRecord,
  createBackupManager,
  createVerificationScheduler,
  type VerificationRun,
} from "../src/index.js";
import { deferred, tempDirs, writeTree } from "./fixtures/manager-helpers.js";

const SERVER = "srv-1";
const HOUR = 3_600_000;
const dirs = tempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.useRealTimers();
  await dirs.cleanup();
});

/** A manager on a local storage holding `count` successful backups, oldest first. */
async function withBackups(count: number) {
  const dir = await dirs.make("verify-schedule");
  await writeTree(join(dir, SERVER), { "server.properties": "motd=hello\n" });
  const manager = createBackupManager({
    storage: createLocalStorage({ root: join(dir, "store") }),
    serverRoot: (server) => join(dir, server),
  });
  cleanups.push(() => manager.close());
  const backups: BackupRecord[] = [];
  for (let i = 0; i < count; i++) {
    const { uuid } = await manager.create(SERVER);
    backups.push(await manager.wait(SERVER, uuid));
  }
  return { manager, backups };
}

/** Collects runs; `next()` resolves with the next one reported. */
function runLog() {
  const waiting: ((run: VerificationRun) => void)[] = [];
  return {
    onRun: (run: VerificationRun) => waiting.shift()?.(run),
    next: () => {
      const run = deferred<VerificationRun>();
      waiting.push(run.resolve);
      return run.promise;
    },
  };
}

describe("createVerificationScheduler", () => {
  it("verifies a sample each run, least recently verified first, covering every backup in turn", async () => {
    const { manager, backups } = await withBackups(3);
    const [a, b, c] = backups.map((backup) => backup.uuid);
    vi.useFakeTimers({
      now: new Date("2025-01-15T04:29:30Z"),
      toFake: ["setTimeout", "clearTimeout", "Date"],
    });
    const log = runLog();
    const scheduler = createVerificationScheduler({
      manager,
      cron: "30 4 * * *",
      timezone: "UTC",
      count: 2,
      onRun: log.onRun,
    });
    cleanups.push(() => scheduler.stop({ cancel: true }));
    expect(scheduler.nextRuns(2)).toEqual([
      new Date("2025-01-15T04:30:00Z"),
      new Date("2025-01-16T04:30:00Z"),
    ]);
    scheduler.start();

    const first = log.next();
    await vi.advanceTimersByTimeAsync(30_000);
    const firstRun = await first;
    expect(firstRun).toMatchObject({ status: "finished", scheduledAt: new Date("2025-01-15T04:30:00Z") });
    expect(firstRun.status === "finished" && firstRun.verified.map((r) => [r.uuid, r.verification])).toEqual([
      [a, "passed"],
      [b, "passed"],
    ]);

    const second = log.next();
    await vi.advanceTimersByTimeAsync(24 * HOUR);
    const secondRun = await second;
    expect(secondRun.status === "finished" && secondRun.verified.map((r) => r.uuid)).toEqual([c, a]);
    expect((await manager.get(SERVER, c!)).verified_at).toBe("2025-01-16T04:30:00.000+00:00");
  });

  it("checks its options when made", async () => {
    const { manager } = await withBackups(0);
    const bad = [
      { cron: "every night", count: 1 },
      { cron: "@daily", timezone: "Mars/Olympus", count: 1 },
      { cron: "@daily" },
      { cron: "@daily", fraction: 2 },
      { cron: "@daily", count: 1, fraction: 0.5 },
    ];
    for (const options of bad) {
      expect(() => createVerificationScheduler({ manager, ...options }), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT" }),
      );
    }
  });
});
