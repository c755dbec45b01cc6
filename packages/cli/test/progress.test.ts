import { describe, expect, it } from "vitest";
import { createOutput } from "../src/output.js";
import { createProgressBar, REDRAW_INTERVAL_MS, renderProgress } from "../src/progress.js";
import { memoryStream } from "./helpers/fixtures.js";

describe("createProgressBar", () => {
  it("writes nothing when the stream is not a terminal", () => {
    const out = memoryStream({ isTTY: false });
    const bar = createProgressBar(out.stream, "packing");
    bar.update({ bytes: 10, files: 1 });
    bar.clear();
    bar.done();

    expect(out.text()).toBe("");
  });

  it("redraws one line at most every interval, and erases it when done", () => {
    const out = memoryStream({ isTTY: true, columns: 80 });
    let clock = 1_000;
    const bar = createProgressBar(out.stream, "packing", () => clock);

    bar.update({ bytes: 1, files: 1 });
    bar.update({ bytes: 2, files: 2 });
    clock += REDRAW_INTERVAL_MS;
    bar.update({ bytes: 3, files: 3 });
    bar.done();
    bar.update({ bytes: 4, files: 4 });

    expect(out.text()).toBe("\r\x1b[Kpacking  1 file  1 B\r\x1b[Kpacking  3 files  3 B\r\x1b[K");
  });

  it("fits the line to the terminal width", () => {
    const out = memoryStream({ isTTY: true, columns: 20 });
    createProgressBar(out.stream, "unpacking").update({
      bytes: 5_000_000,
      files: 12_345,
      totalBytes: 10_000_000,
    });

    expect(out.text().replace("\r\x1b[K", "")).toHaveLength(19);
  });

  it("falls back to 80 columns when the terminal reports none", () => {
    const out = memoryStream({ isTTY: true, columns: 0 });
    createProgressBar(out.stream, "packing").update({ bytes: 0, files: 0 });

    expect(out.text()).toBe("\r\x1b[Kpacking  0 files  0 B");
  });
});

describe("renderProgress", () => {
  it("shows a bar and a percentage when the total is known", () => {
    expect(renderProgress("unpacking", { bytes: 512, files: 2, totalBytes: 1024 })).toBe(
      `unpacking [${"=".repeat(12)}>${" ".repeat(11)}]  50%  2 files  512 B`,
    );
  });

  it("caps at 100% when the counter passes the total", () => {
    expect(renderProgress("x", { bytes: 2048, files: 1, totalBytes: 1024 })).toBe(
      `x [${"=".repeat(24)}] 100%  1 file  2.0 KiB`,
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
      { json: false },
    );
    output.progress("packing").update({ bytes: 1, files: 1 });
    output.warning({
      code: "FILE_CHANGED",
      path: "world/level.dat",
      message: "It changed while it was read.",
    });

    expect(stderr.text()).toBe(
      "\r\x1b[Kpacking  1 file  1 B\r\x1b[Kstrongbox: warning: world/level.dat: It changed while it was read.\n",
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
