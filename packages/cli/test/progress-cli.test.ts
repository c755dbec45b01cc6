import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useBackupFixture } from "./helpers/backup-cli.js";
import { tool } from "./helpers/fixtures.js";
import { runCli, runCliInTerminal } from "./helpers/run-cli.js";

const fixture = useBackupFixture({
  "server.properties": "motd=hello\n",
  "world/region.mca": randomBytes(256 * 1024).toString("base64"),
  "plugins/": null,
});

/** One command of each kind with progress, set up in the fixture: its arguments and the label of its bar. */
interface ProgressCommand {
  operation: string;
  label: string;
  /** Sets up what the command works on; returns its arguments and its total when known in advance. */
  prepare(): Promise<{ args: string[]; totalBytes?: number }>;
}

const STORAGE = ["--storage", "storage", "--server", "srv-1"];

const COMMANDS: ProgressCommand[] = [
  {
    operation: "pack",
    label: "packing",
    prepare: async () => ({ args: ["pack", "srv", "-o", "srv.tar.gz"] }),
  },
  {
    operation: "unpack",
    label: "unpacking",
    async prepare() {
      // An archive made by GNU tar: its size is the total.
      const archive = join(fixture.path, "gnu.tar.gz");
      await tool("tar", ["-czf", archive, "-C", fixture.src, "."]);
      return { args: ["unpack", "gnu.tar.gz", "out"], totalBytes: (await stat(archive)).size };
    },
  },
  {
    operation: "backup",
    label: "backing up",
    prepare: async () => ({ args: ["backup", "srv", ...STORAGE] }),
  },
  {
    operation: "restore",
    label: "restoring",
    async prepare() {
      const record = await fixture.seed("to restore");
      return { args: ["restore", record.uuid, "out", ...STORAGE], totalBytes: record.bytes };
    },
  },
  {
    operation: "verify",
    label: "verifying",
    async prepare() {
      const record = await fixture.seed("to verify");
      return { args: ["verify", record.uuid, ...STORAGE], totalBytes: record.bytes };
    },
  },
  {
    operation: "migrate",
    label: "migrating",
    async prepare() {
      const first = await fixture.seed("first");
      const second = await fixture.seed("second");
      return {
        args: ["migrate", "--from", "storage", "--to", "copy"],
        totalBytes: first.bytes + second.bytes,
      };
    },
  },
];

describe.each(COMMANDS)("strongbox $operation progress", ({ operation, label, prepare }) => {
  it("draws a bar on a terminal, ending on a line at 100% that stays", async () => {
    const { args } = await prepare();
    const run = await runCliInTerminal(args, { cwd: fixture.path });

    expect(run.code, run.output).toBe(0);
    // Each frame starts by erasing the line; the last one, at 100%, says what took how long and ends
    // with a newline (the terminal's \r\n).
    const final = new RegExp(
      `(^|\\r\\x1b\\[K|\\n)${label} \\[=+\\] 100%  [\\d.]+ (B|KiB|MiB) in \\d+:\\d\\d[^\\r\\n]*\\r\\n`,
    );
    expect(run.output).toMatch(final);
  });

  it("shows nothing when stderr is piped", async () => {
    const { args } = await prepare();
    const piped = await runCli(args, { cwd: fixture.path });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toBe("");
    expect(piped.stdout).not.toBe("");
  });

  it("prints JSON lines on stderr with --progress=json, the last one done at 100%", async () => {
    const { args, totalBytes } = await prepare();
    const run = await runCli([...args, "--progress", "json", "--json"], { cwd: fixture.path });
    expect(run.code, run.stderr).toBe(0);
    JSON.parse(run.stdout);

    const lines = run.stderr
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) expect(line).toMatchObject({ type: "progress", operation });
    expect(lines.slice(0, -1).every((line) => line.state === "running")).toBe(true);
    const last = lines.at(-1);
    expect(last).toMatchObject({ state: "done", percent: 100, eta: 0 });
    expect(last.totalBytes).toBe(last.bytes);
    // A total known before the start is in every line; it is what the run went through.
    if (totalBytes !== undefined) {
      for (const line of lines) expect(line.totalBytes).toBe(totalBytes);
      expect(last.bytes).toBe(totalBytes);
    }
  });
});

describe("strongbox --progress", () => {
  it("refuses a mode it does not know before doing anything", async () => {
    const run = await runCli(["backup", "srv", ...STORAGE, "--progress=fancy"], { cwd: fixture.path });

    expect(run).toMatchObject({ code: 2, stdout: "" });
    expect(run.stderr).toBe('strongbox: backup: --progress must be bar, json or none, not "fancy".\n');
    await expect(stat(fixture.storage)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("shows nothing on a terminal with --progress=none", async () => {
    const run = await runCliInTerminal(["backup", "srv", ...STORAGE, "--progress=none"], {
      cwd: fixture.path,
    });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/^Backup [-0-9a-f]{36} "[^"]+": successful, [^\r\n]+\r\n$/);
  });

  it("counts a migration's backups against the plan on the terminal", async () => {
    await fixture.seed("first");
    await fixture.seed("second");
    const run = await runCliInTerminal(["migrate", "--from", "storage", "--to", "copy"], {
      cwd: fixture.path,
    });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/migrating \[=+\] 100% {2}.* 2\/2 backups\r\n/);
  });
});
