import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runExample, tempFolder } from "../../test-support/run-example.js";

let work: Awaited<ReturnType<typeof tempFolder>>;
beforeEach(async () => {
  work = await tempFolder("example-panel");
});
afterEach(() => work.remove());

it("backs up, refuses a locked backup to a user without backup.delete, and restores", async () => {
  const run = await runExample("embed-in-a-panel", [work.path]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const result = run.lines.find((line) => "result" in line)?.result as {
    backup: { uuid: string; is_successful: boolean; checksum: string; ignored_files: string[] };
    refused: string;
    backup_count: number;
  };
  expect(result.backup).toMatchObject({ is_successful: true, ignored_files: ["*.log"] });
  expect(result.refused).toBe("PERMISSION_DENIED");
  expect(result.backup_count).toBe(1);

  const archive = join(work.path, "backups", "srv-1", `${result.backup.uuid}.tar.gz`);
  const { stdout } = await promisify(execFile)("tar", ["-tzf", archive]);
  expect(stdout.split("\n").filter(Boolean).sort()).toEqual([
    "server.properties",
    "world/",
    "world/level.dat",
  ]);
  // The truncate restore put the backed-up file back and removed the ignored log.
  const root = join(work.path, "servers", "srv-1");
  expect(await readFile(join(root, "server.properties"), "utf8")).toBe("motd=A Minecraft Server\n");
  await expect(readFile(join(root, "latest.log"))).rejects.toThrow();

  const events = run.lines
    .filter((line) => "activity" in line)
    .map((line) => line.activity as Record<string, unknown>);
  expect(events.map((event) => event.event)).toEqual([
    "server:backup.start",
    "server:backup.complete",
    "server:backup.restore",
    "server:backup.restore-complete",
  ]);
  expect(events.every((event) => event.actor === "user-42")).toBe(true);
  expect(run.lines.some((line) => "progress" in line)).toBe(true);
});
