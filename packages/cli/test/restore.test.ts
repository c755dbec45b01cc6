import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BackupRecord } from "@strongbox/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectOneErrorLine, runJson, seedBackup } from "./helpers/backup-cli.js";
import { listTree, writeTree } from "./helpers/fixtures.js";
import { makeTempDir, runCli } from "./helpers/run-cli.js";

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let storage: string;
let target: string;
let backup: BackupRecord;

beforeEach(async () => {
  temp = await makeTempDir();
  storage = join(temp.path, "storage");
  const src = join(temp.path, "srv");
  await writeTree(src, { "a.txt": "from backup", "world/level.dat": "level", "empty/": null });
  backup = await seedBackup(storage, "srv-1", src, { name: "Nightly" });
  target = join(temp.path, "target");
  await writeTree(target, { "a.txt": "changed since", "extra.txt": "not in the backup" });
});

afterEach(() => temp.remove());

describe("strongbox restore", () => {
  it("merges by default: backup files overwrite, others stay", async () => {
    const run = await runCli(["restore", backup.uuid, "target", "--storage", storage, "--server", "srv-1"], {
      cwd: temp.path,
    });

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      `Restored backup ${backup.uuid} "Nightly" into target (merged with its contents).\n`,
    );
    expect(await listTree(target)).toEqual(["a.txt", "empty/", "extra.txt", "world/", "world/level.dat"]);
    expect(await readFile(join(target, "a.txt"), "utf8")).toBe("from backup");
  });

  it("makes the folder hold exactly the backup with --truncate, and prints the backup with --json", async () => {
    const document = await runJson([
      "restore",
      backup.uuid,
      target,
      "--storage",
      storage,
      "--server",
      "srv-1",
      "--truncate",
    ]);

    expect(document).toMatchObject({ object: "backup", attributes: { uuid: backup.uuid, name: "Nightly" } });
    expect(await listTree(target)).toEqual(["a.txt", "empty/", "world/", "world/level.dat"]);
  });

  it("restores only the paths given with --only", async () => {
    const run = await runCli(
      ["restore", backup.uuid, target, "--storage", storage, "--server", "srv-1", "--only", "world"],
      { cwd: temp.path },
    );

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(await listTree(target)).toEqual(["a.txt", "extra.txt", "world/", "world/level.dat"]);
    expect(await readFile(join(target, "a.txt"), "utf8")).toBe("changed since");
  });

  it("refuses a damaged archive and leaves the folder as it was", async () => {
    await writeFile(join(storage, "srv-1", `${backup.uuid}.tar.gz`), "not the archive");

    const run = await runCli([
      "restore",
      backup.uuid,
      target,
      "--storage",
      storage,
      "--server",
      "srv-1",
      "--truncate",
    ]);

    expectOneErrorLine(run, /^strongbox: /);
    expect(await listTree(target)).toEqual(["a.txt", "extra.txt"]);
    expect(await readFile(join(target, "a.txt"), "utf8")).toBe("changed since");
  });

  it.each([
    ["an unknown backup", "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e", /Server srv-1 has no backup 3e8e8f18/],
    ["a malformed uuid", "3e8e8f18", /A backup id must be a UUID/],
  ])("refuses %s with one line, touching nothing", async (_name, uuid, pattern) => {
    const run = await runCli(["restore", uuid, target, "--storage", storage, "--server", "srv-1"]);

    expectOneErrorLine(run, pattern);
    expect(await listTree(target)).toEqual(["a.txt", "extra.txt"]);
  });

  it("asks for the folder when it is missing", async () => {
    const run = await runCli(["restore", backup.uuid, "--storage", storage, "--server", "srv-1"]);

    expectOneErrorLine(run, /restore: missing <dir>/, 2);
  });
});
