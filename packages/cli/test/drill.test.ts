import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type BackupRecord, createBackupManager } from "@strongbox/core";
import { createLocalStorage } from "@strongbox/storage-local";
import { beforeEach, describe, expect, it } from "vitest";
import { describeDrill } from "../src/drill-report.js";
import { expectOneErrorLine, runJson, useBackupFixture } from "./helpers/backup-cli.js";
import { runCli } from "./helpers/run-cli.js";

const fx = useBackupFixture({ "a.txt": "hello", "dir/b.txt": "b", "dir/sub/c.txt": "c".repeat(3000) });
let backup: BackupRecord;
let temp: string;

beforeEach(async () => {
  backup = await fx.seed("Nightly");
  temp = join(fx.path, "drills");
  await mkdir(temp);
});

const args = (uuid: string, ...extra: string[]) => [
  "drill",
  uuid,
  "--storage",
  fx.storage,
  "--server",
  "srv-1",
  "--temp",
  temp,
  ...extra,
];

/** Names, sizes and mtimes under a folder: what "untouched" means. */
async function snapshot(root: string): Promise<string[]> {
  const names = (await readdir(root, { recursive: true })).sort();
  return Promise.all(names.map(async (name) => `${name} ${(await stat(join(root, name))).mtimeMs}`));
}

describe("strongbox drill", () => {
  it("restores, finds everything as listed, says so on one line and leaves nothing behind", async () => {
    const before = await snapshot(fx.src);

    const run = await runCli(args(backup.uuid));

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      `Drill of backup ${backup.uuid} "Nightly": 3 files (2.9 KiB), 2 folders, 0 links; all restored as listed.\n`,
    );
    expect(await readdir(temp)).toEqual([]);
    expect(await snapshot(fx.src)).toEqual(before);
  });

  it("prints the report with --json", async () => {
    const document = await runJson<{ object: string; attributes: Record<string, unknown> }>(
      args(backup.uuid, "--json"),
    );

    expect(document).toEqual({
      object: "drill",
      attributes: {
        server: "srv-1",
        backup: backup.uuid,
        name: "Nightly",
        passed: true,
        files: 3,
        directories: 2,
        links: 0,
        bytes: 3006,
        skipped: 0,
        differences: [],
        moreDifferences: 0,
      },
    });
  });

  it("fails with one line when the archive is not the one recorded, and cleans up", async () => {
    await writeFile(join(fx.src, "a.txt"), "changed");
    const other = await fx.seed("Other");
    const archive = (record: BackupRecord) => join(fx.storage, "srv-1", `${record.uuid}.tar.gz`);
    await writeFile(archive(backup), await readFile(archive(other)));

    const run = await runCli(args(backup.uuid));

    expectOneErrorLine(run, /checksum/i);
    expect(run.stdout).toBe("");
    expect(await readdir(temp)).toEqual([]);
  });

  it.each([
    ["an unknown backup", "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e", /Server srv-1 has no backup 3e8e8f18/],
    ["a malformed uuid", "../../etc/passwd", /A backup id must be a UUID/],
  ])("refuses %s with one line", async (_name, uuid, pattern) => {
    expectOneErrorLine(await runCli(args(uuid)), pattern);
  });

  it("describes each difference of a drill whose restored folder was changed", async () => {
    const manager = createBackupManager({
      storage: createLocalStorage({ root: fx.storage }),
      serverRoot: () => fx.src,
    });
    const report = await manager.drill("srv-1", backup.uuid, {
      tempDir: temp,
      onRestored: async (folder) => {
        await writeFile(join(folder, "a.txt"), "HELLO");
        await writeFile(join(folder, "dir", "extra.txt"), "?");
      },
    });
    await manager.close();

    expect(describeDrill(report).split("\n")).toEqual([
      `Drill of backup ${backup.uuid} "Nightly": 3 files (2.9 KiB), 2 folders, 0 links; restored differently:`,
      expect.stringMatching(
        /^ {2}a\.txt: restored with other content \(expected sha256:[0-9a-f]{64}, found sha256:[0-9a-f]{64}\)$/,
      ),
      "  dir/extra.txt: restored but not listed",
    ]);
  });
});
