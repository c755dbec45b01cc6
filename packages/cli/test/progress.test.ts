import { describe, expect, it } from "vitest";
import { UsageError } from "../src/command.js";
import { createOutput } from "../src/output.js";
import {
  createProgressDisplay,
  JSON_INTERVAL_MS,
  progressMode,
  REDRAW_INTERVAL_MS,
} from "../src/progress.js";
import { formatDuration, renderProgressJson, renderProgressLine } from "../src/progress-format.js";
import { createProgressMeter, type ProgressView } from "../src/progress-meter.js";
import { memoryStream } from "./helpers/fixtures.js";

const MiB = 1024 * 1024;
const ERASE = "\r\x1b[K";

/** A clock the test moves by hand. */
function fakeClock(start = 0) {
  const clock = { at: start, now: () => clock.at };
  return clock;
}

describe("createProgressMeter", () => {
  it("starts the rate at the second sample, smooths it over time, and gives the ETA it implies", () => {
    const clock = fakeClock();
    const meter = createProgressMeter(clock.now);
    // A slow start (opening the storage) does not count: the rate starts at the first sample.
    clock.at = 5_000;
    const first = meter.sample({ bytes: 10 * MiB, files: 1, totalBytes: 100 * MiB });
    expect(first).toMatchObject({ bytes: 10 * MiB, ratio: 0.1, rate: undefined, eta: undefined, elapsed: 5 });

    clock.at = 6_000;
    const second = meter.sample({ bytes: 20 * MiB, files: 2, totalBytes: 100 * MiB });
    expect(second).toMatchObject({ ratio: 0.2, rate: 10 * MiB, eta: 8, elapsed: 6 });

    // Two seconds without a byte (the RATE_SMOOTHING_MS time constant): the rate falls to 1/e, not to 0.
    clock.at = 8_000;
    const stalled = meter.sample({ bytes: 20 * MiB, files: 2, totalBytes: 100 * MiB });
    expect(stalled.rate).toBeCloseTo(10 * MiB * Math.exp(-1), 3);
    expect(stalled.eta).toBeCloseTo((80 * MiB) / stalled.rate!, 6);
  });

  it("leaves the ratio and ETA out without a total, and caps the ratio at 1", () => {
    const clock = fakeClock();
    const meter = createProgressMeter(clock.now);
    meter.sample({ bytes: 0, files: 0 });
    clock.at = 1_000;
    expect(meter.sample({ bytes: MiB, files: 3 })).toMatchObject({
      ratio: undefined,
      eta: undefined,
      rate: MiB,
    });
    clock.at = 2_000;
    expect(meter.sample({ bytes: 3 * MiB, files: 3, totalBytes: 2 * MiB })).toMatchObject({
      ratio: 1,
      eta: 0,
    });
  });

  it("finishes at 100% with the average rate of the whole run, the bytes gone through as the total", () => {
    const clock = fakeClock();
    const meter = createProgressMeter(clock.now);
    clock.at = 4_000;
    expect(meter.finish({ bytes: 40 * MiB, files: 9 })).toEqual({
      bytes: 40 * MiB,
      totalBytes: 40 * MiB,
      files: 9,
      totalFiles: undefined,
      ratio: 1,
      rate: 10 * MiB,
      eta: 0,
      elapsed: 4,
    });
  });
});

/** A view 42% through 100 MiB at 10 MiB/s. */
const RUNNING: ProgressView = {
  bytes: 42 * MiB,
  totalBytes: 100 * MiB,
  files: 7,
  totalFiles: undefined,
  ratio: 0.42,
  rate: 10 * MiB,
  eta: 5.8,
  elapsed: 4.2,
};

describe("renderProgressLine", () => {
  it("shows the bar, percent, done / total, rate, ETA and files, in the terminal's width", () => {
    const line = renderProgressLine("backing up", RUNNING, { width: 79, noun: "file" });
    expect(line).toBe("backing up [=====>        ]  42%  42 MiB / 100 MiB  10 MiB/s  ETA 0:06  7 files");
    expect(line).toHaveLength(79);
  });

  it("widens the bar on a wide terminal, up to its most", () => {
    expect(renderProgressLine("restoring", RUNNING, { width: 200, noun: "file" })).toBe(
      `restoring [${"=".repeat(16)}>${" ".repeat(23)}]  42%  42 MiB / 100 MiB  10 MiB/s  ETA 0:06  7 files`,
    );
  });

  it("leaves out the count, then the rate, on a narrow terminal, and cuts only what still does not fit", () => {
    expect(renderProgressLine("backing up", RUNNING, { width: 59, noun: "file" })).toBe(
      "backing up [=====>       ]  42%  42 MiB / 100 MiB  ETA 0:06",
    );
    expect(renderProgressLine("backing up", RUNNING, { width: 30, noun: "file" })).toBe(
      "backing up [====>     ]  42%  ",
    );
  });

  it("shows only what is known without a total or a rate yet", () => {
    const view = { ...RUNNING, totalBytes: undefined, ratio: undefined, eta: undefined, rate: undefined };
    expect(renderProgressLine("packing", view, { width: 79, noun: "file" })).toBe("packing  42 MiB  7 files");
  });

  it("counts backups against their total for a migration, and nothing for a verify", () => {
    const view = { ...RUNNING, files: 2, totalFiles: 5 };
    expect(renderProgressLine("migrating", view, { width: 200, noun: "backup" })).toMatch(
      / {2}ETA 0:06 {2}2\/5 backups$/,
    );
    expect(renderProgressLine("verifying", RUNNING, { width: 200 })).toMatch(/ {2}ETA 0:06$/);
  });

  it("ends with a full bar, the bytes and the time they took, and the average rate", () => {
    const done = { ...RUNNING, bytes: 100 * MiB, ratio: 1, rate: 20 * MiB, eta: 0, elapsed: 5, files: 9 };
    expect(renderProgressLine("backing up", done, { width: 79, noun: "file", finished: true })).toBe(
      `backing up [${"=".repeat(25)}] 100%  100 MiB in 0:05  20 MiB/s  9 files`,
    );
  });
});

describe("formatDuration", () => {
  it("writes m:ss under an hour and h:mm:ss above, rounding up", () => {
    expect([0, 0.2, 59, 61, 3599, 3600, 3723].map(formatDuration)).toEqual([
      "0:00",
      "0:01",
      "0:59",
      "1:01",
      "59:59",
      "1:00:00",
      "1:02:03",
    ]);
  });
});

describe("renderProgressJson", () => {
  it("gives numbers for what is known and null for what is not", () => {
    expect(JSON.parse(renderProgressJson("restore", RUNNING, "running"))).toEqual({
      type: "progress",
      operation: "restore",
      state: "running",
      bytes: 42 * MiB,
      totalBytes: 100 * MiB,
      files: 7,
      totalFiles: null,
      percent: 42,
      rate: 10 * MiB,
      eta: 6,
      elapsed: 4.2,
    });
    const unknown = { ...RUNNING, totalBytes: undefined, ratio: undefined, eta: undefined, rate: undefined };
    expect(JSON.parse(renderProgressJson("pack", unknown, "running"))).toMatchObject({
      totalBytes: null,
      percent: null,
      rate: null,
      eta: null,
    });
  });
});

describe("createProgressDisplay", () => {
  const sample = (mib: number) => ({ bytes: mib * MiB, files: mib, totalBytes: 4 * MiB });

  it("writes nothing at all with none", () => {
    const out = memoryStream({ isTTY: true });
    const display = createProgressDisplay(out.stream, "backup", "none");
    display.update(sample(1));
    display.clear();
    display.complete();
    display.stop();

    expect(display.shown).toBe(false);
    expect(out.text()).toBe("");
  });

  it("redraws the bar at most every interval, and leaves a final line at 100% when complete", () => {
    const out = memoryStream({ isTTY: true, columns: 80 });
    const clock = fakeClock();
    const display = createProgressDisplay(out.stream, "restore", "bar", clock.now);

    display.update(sample(1));
    clock.at = REDRAW_INTERVAL_MS - 1;
    display.update(sample(2));
    clock.at = 2_000;
    display.update(sample(3));
    clock.at = 4_000;
    display.update(sample(4));
    display.complete();
    display.update(sample(4));
    display.stop();

    // The first frame has no rate yet; the third's rate is smoothed (1 MiB/s, then 0.5 for 2 s).
    expect(out.text().split(ERASE)).toEqual([
      "",
      `restoring [========>${" ".repeat(26)}]  25%  1.0 MiB / 4.0 MiB  1 file`,
      "restoring [=========>   ]  75%  3.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 0:01  3 files",
      "restoring [=============] 100%  4.0 MiB / 4.0 MiB  700 KiB/s  ETA 0:00  4 files",
      `restoring [${"=".repeat(25)}] 100%  4.0 MiB in 0:04  1.0 MiB/s  4 files\n`,
    ]);
  });

  it("erases the bar when the operation fails, and after other text redraws it", () => {
    const out = memoryStream({ isTTY: true, columns: 80 });
    const display = createProgressDisplay(out.stream, "verify", "bar", fakeClock().now);
    display.clear();
    display.update(sample(1));
    display.clear();
    display.stop();
    display.complete();

    expect(out.text()).toBe(
      `${ERASE}verifying [${"=".repeat(10)}>${" ".repeat(29)}]  25%  1.0 MiB / 4.0 MiB${ERASE}`,
    );
  });

  it("draws the bar when asked to even if stderr is not a terminal, 80 columns wide", () => {
    const out = memoryStream({ isTTY: false });
    createProgressDisplay(out.stream, "pack", "bar").update({ bytes: 0, files: 0 });

    expect(out.text()).toBe(`${ERASE}packing  0 B  0 files`);
  });

  it("prints a JSON line a second, and a last one, done at 100% or failed", () => {
    const out = memoryStream();
    const clock = fakeClock();
    const done = createProgressDisplay(out.stream, "unpack", "json", clock.now);
    done.update(sample(1));
    clock.at = JSON_INTERVAL_MS - 1;
    done.update(sample(2));
    clock.at = JSON_INTERVAL_MS;
    done.update(sample(3));
    done.complete();
    done.stop();
    const failed = createProgressDisplay(out.stream, "restore", "json", clock.now);
    failed.update(sample(1));
    failed.clear();
    failed.stop();

    const lines = out
      .text()
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map(({ operation, state, percent }) => ({ operation, state, percent }))).toEqual([
      { operation: "unpack", state: "running", percent: 25 },
      { operation: "unpack", state: "running", percent: 75 },
      { operation: "unpack", state: "done", percent: 100 },
      { operation: "restore", state: "running", percent: 25 },
      { operation: "restore", state: "failed", percent: 25 },
    ]);
    expect(lines[1]).toMatchObject({ bytes: 3 * MiB, totalBytes: 4 * MiB, files: 3, rate: 2 * MiB, eta: 1 });
  });
});

describe("progressMode", () => {
  it("draws a bar by default on a terminal only, and takes bar, json or none", () => {
    const terminal = memoryStream({ isTTY: true }).stream;
    const piped = memoryStream().stream;
    expect(progressMode("backup", undefined, terminal)).toBe("bar");
    expect(progressMode("backup", undefined, piped)).toBe("none");
    expect(progressMode("backup", "json", terminal)).toBe("json");
    expect(progressMode("backup", "bar", piped)).toBe("bar");
    expect(progressMode("backup", "none", terminal)).toBe("none");
    expect(() => progressMode("backup", "yes", terminal)).toThrow(
      new UsageError('backup: --progress must be bar, json or none, not "yes".'),
    );
  });
});

describe("createOutput", () => {
  const signal = new AbortController().signal;

  it("erases the progress line before printing a warning", () => {
    const stdout = memoryStream();
    const stderr = memoryStream({ isTTY: true });
    const output = createOutput(
      { stdout: stdout.stream, stderr: stderr.stream, signal, cwd: "/" },
      { json: false, progress: "bar" },
    );
    output.progress("pack").update({ bytes: 1, files: 1 });
    output.warning({
      code: "FILE_CHANGED",
      path: "world/level.dat",
      message: "It changed while it was read.",
    });

    expect(stderr.text()).toBe(
      `${ERASE}packing  1 B  1 file${ERASE}strongbox: warning: world/level.dat: It changed while it was read.\n`,
    );
  });

  it("prints warnings as JSON lines on stderr with --json, keeping stdout for the result", async () => {
    const stdout = memoryStream();
    const stderr = memoryStream();
    const output = createOutput(
      { stdout: stdout.stream, stderr: stderr.stream, signal, cwd: "/" },
      { json: true },
    );
    const warning = {
      code: "SPECIAL_FILE_SKIPPED",
      path: "run/fifo",
      message: "A fifo was skipped.",
    } as const;
    output.warning(warning);
    await output.result({ files: 1 }, "1 file");

    expect(JSON.parse(stderr.text())).toEqual({ warning });
    expect(JSON.parse(stdout.text())).toEqual({ files: 1 });
  });
});
