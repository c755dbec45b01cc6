import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { BackupRecord } from "@strongbox/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackupAttributes, expectOneErrorLine, runJson, seedBackup } from "./helpers/backup-cli.js";
import { writeTree } from "./helpers/fixtures.js";
import { makeTempDir, runCli } from "./helpers/run-cli.js";

interface ListDocument {
  object: string;
  data: { object: string; attributes: BackupAttributes }[];
  meta: {
    pagination: { total: number; count: number; per_page: number; current_page: number; total_pages: number };
    backup_count: number;
  };
}

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let storage: string;
let src: string;
let seeded: BackupRecord[];

// Every test only reads: one storage with three backups serves them all.
beforeAll(async () => {
  temp = await makeTempDir();
  storage = join(temp.path, "storage");
  src = join(temp.path, "srv");
  await writeTree(src, { "a.txt": "hello", "dir/b.txt": "b", link: { symlink: "a.txt" } });
  seeded = [];
  for (const name of ["one", "two", "three"]) seeded.push(await seedBackup(storage, "srv-1", src, { name }));
});

afterAll(() => temp.remove());

const wholeSeconds = (iso: string) => iso.replace(/\.\d{3}\+00:00$/, "+00:00");

describe("strongbox list", () => {
  it("prints the API's list document, newest first", async () => {
    const list = await runJson<ListDocument>(["list", "--storage", storage, "--server", "srv-1"]);

    expect(list.object).toBe("list");
    expect(list.meta).toEqual({
      pagination: { total: 3, count: 3, per_page: 20, current_page: 1, total_pages: 1 },
      backup_count: 3,
    });
    expect(list.data.every((item) => item.object === "backup")).toBe(true);
    expect(list.data.map((item) => item.attributes.uuid).sort()).toEqual(seeded.map((r) => r.uuid).sort());
    const created = list.data.map((item) => Date.parse(item.attributes.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const first = seeded.find((record) => record.name === "one")!;
    expect(list.data.find((item) => item.attributes.uuid === first.uuid)?.attributes).toEqual({
      uuid: first.uuid,
      name: "one",
      ignored_files: [],
      checksum: first.checksum,
      bytes: first.bytes,
      is_successful: true,
      is_locked: false,
      // The API's form, as the panel's: whole seconds (the record itself keeps milliseconds).
      created_at: wholeSeconds(first.created_at),
      completed_at: wholeSeconds(first.completed_at!),
    });
  });

  it("pages with --page and --per-page", async () => {
    const all = await runJson<ListDocument>(["list", "--storage", storage, "--server", "srv-1"]);
    const page = await runJson<ListDocument>([
      "list",
      "--storage",
      storage,
      "--server",
      "srv-1",
      "--per-page",
      "2",
      "--page",
      "2",
    ]);

    expect(page.meta.pagination).toMatchObject({
      total: 3,
      count: 1,
      per_page: 2,
      current_page: 2,
      total_pages: 2,
    });
    expect(page.data.map((item) => item.attributes.uuid)).toEqual([all.data[2]!.attributes.uuid]);
  });

  it("prints a table with one row per backup and where the page sits", async () => {
    const run = await runCli(["list", "--storage", storage, "--server", "srv-1", "--per-page", "2"]);

    expect(run).toMatchObject({ code: 0, stderr: "" });
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^UUID +STATUS +SIZE +CREATED \(UTC\) +LOCKED +VERIFIED +NAME$/);
    expect(lines.slice(1, -1)).toHaveLength(2);
    for (const row of lines.slice(1, -1)) {
      expect(row).toMatch(
        /^[0-9a-f-]{36} +successful +\d+ B +\d{4}-\d\d-\d\d \d\d:\d\d +no +- +(one|two|three)$/,
      );
    }
    expect(lines.at(-1)).toBe("Page 1 of 2 (3 backups).");
  });

  it("lists nothing for a server without backups", async () => {
    const empty = join(temp.path, "empty");
    await mkdir(empty, { recursive: true });
    const list = await runJson<ListDocument>(["list", "--storage", empty, "--server", "srv-1"]);

    expect(list).toMatchObject({ object: "list", data: [], meta: { backup_count: 0 } });
  });

  it.each([
    ["a page of 0", ["--page", "0"], /--page must be a whole number of at least 1, not "0"/, 2],
    ["a page that is no number", ["--per-page", "ten"], /--per-page must be a whole number/, 2],
    ["a stray argument", ["extra"], /unexpected argument "extra"/, 2],
  ])("refuses %s with one line", async (_name, extra, pattern, code) => {
    const run = await runCli(["list", "--storage", storage, "--server", "srv-1", ...extra]);

    expectOneErrorLine(run, pattern, code);
  });

  it("refuses a storage folder that does not exist, creating nothing", async () => {
    const missing = join(temp.path, "missing");
    const run = await runCli(["list", "--storage", missing, "--server", "srv-1"]);

    expectOneErrorLine(run, /The storage folder ".*missing" does not exist\./);
    await expect(stat(missing)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("strongbox contents --storage", () => {
  it("lists a stored backup's entries", async () => {
    const run = await runCli(["contents", seeded[0]!.uuid, "--storage", storage, "--server", "srv-1"]);

    expect(run).toMatchObject({ code: 0, stderr: "" });
    const lines = run.stdout.trim().split("\n");
    expect(lines.some((line) => /^-rw.* 5 .* a\.txt$/.test(line))).toBe(true);
    expect(lines.some((line) => /^l.* link -> a\.txt$/.test(line))).toBe(true);
  });

  it("prints the entries as JSON with --json", async () => {
    const entries = await runJson<{ path: string; type: string }[]>([
      "contents",
      seeded[1]!.uuid,
      "--storage",
      storage,
      "--server",
      "srv-1",
    ]);

    expect(entries.map((entry) => entry.path.replace(/\/$/, "")).sort()).toEqual([
      "a.txt",
      "dir",
      "dir/b.txt",
      "link",
    ]);
  });

  it.each([
    ["an unknown backup", "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e", /Server srv-1 has no backup 3e8e8f18/],
    ["a malformed uuid", "not-a-uuid", /A backup id must be a UUID/],
  ])("refuses %s with one line", async (_name, uuid, pattern) => {
    const run = await runCli(["contents", uuid, "--storage", storage, "--server", "srv-1"]);

    expectOneErrorLine(run, pattern);
    expect(run.stdout).toBe("");
  });

  it("asks for --storage when only --server is given", async () => {
    const run = await runCli(["contents", seeded[0]!.uuid, "--server", "srv-1"]);

    expectOneErrorLine(run, /contents: missing --storage <URL>/, 2);
  });
});
