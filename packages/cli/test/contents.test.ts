import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tool, writeTree } from "./helpers/fixtures.js";
import { makeTempDir, runCli } from "./helpers/run-cli.js";

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let archive: string;

beforeEach(async () => {
  temp = await makeTempDir();
  const src = join(temp.path, "src");
  await writeTree(src, { "a.txt": "hello", "dir/b.txt": "b", link: { symlink: "a.txt" } });
  archive = join(temp.path, "archive.tar.gz");
  await tool("tar", ["-czf", archive, "-C", src, "a.txt", "dir", "link"]);
});

afterEach(() => temp.remove());

describe("strongbox contents", () => {
  it("lists every entry, one line each, like tar -tv", async () => {
    const run = await runCli(["contents", archive]);

    expect(run).toMatchObject({ code: 0, stderr: "" });
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines.find((line) => line.endsWith(" a.txt"))).toMatch(
      /^-rw.* {10}5 \d{4}-\d\d-\d\d \d\d:\d\d a\.txt$/,
    );
    expect(lines.some((line) => /^d.* dir\/$/.test(line))).toBe(true);
    expect(lines.some((line) => /^l.* link -> a\.txt$/.test(line))).toBe(true);
  });

  it("prints a JSON array of entries with --json", async () => {
    const run = await runCli(["contents", archive, "--json"]);

    expect(run.code).toBe(0);
    const entries = JSON.parse(run.stdout) as { path: string }[];
    expect(entries.map((entry) => entry.path.replace(/\/$/, "")).sort()).toEqual([
      "a.txt",
      "dir",
      "dir/b.txt",
      "link",
    ]);
    expect(entries.find((entry) => entry.path === "a.txt")).toMatchObject({ type: "file", size: 5 });
    expect(entries.find((entry) => entry.path === "link")).toMatchObject({
      type: "symlink",
      linkTarget: "a.txt",
    });
  });

  it("fails on a corrupt archive with one line", async () => {
    const garbage = join(temp.path, "garbage.tar.gz");
    await writeFile(garbage, "not gzip");

    const run = await runCli(["contents", garbage]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^strongbox: [^\n]+\n$/);
  });
});
