import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listTree, sha256sum, tool, writeTree } from "./helpers/fixtures.js";
import { makeTempDir, runCli } from "./helpers/run-cli.js";

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let archive: string;
let target: string;

beforeEach(async () => {
  temp = await makeTempDir();
  const src = join(temp.path, "src");
  await writeTree(src, { "a.txt": "new a", "dir/b.txt": "b", "dir/c.txt": "c", "empty/": null });
  archive = join(temp.path, "archive.tar.gz");
  // GNU tar builds the archive, so these tests do not depend on `strongbox pack`.
  await tool("tar", ["-czf", archive, "-C", src, "a.txt", "dir", "empty"]);
  target = join(temp.path, "target");
  await writeTree(target, { "a.txt": "old a", "old.txt": "old", "dir/old.txt": "old" });
});

afterEach(() => temp.remove());

describe("strongbox unpack", () => {
  it("merges by default: archive entries overwrite, other files stay", async () => {
    const run = await runCli(["unpack", archive, target]);

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(await listTree(target)).toEqual([
      "a.txt",
      "dir/",
      "dir/b.txt",
      "dir/c.txt",
      "dir/old.txt",
      "empty/",
      "old.txt",
    ]);
    expect(await readFile(join(target, "a.txt"), "utf8")).toBe("new a");
  });

  it("with --truncate leaves exactly the archive's contents", async () => {
    const run = await runCli(["unpack", archive, target, "--truncate"]);

    expect(run.code).toBe(0);
    expect(await listTree(target)).toEqual(["a.txt", "dir/", "dir/b.txt", "dir/c.txt", "empty/"]);
    expect(await readFile(join(target, "a.txt"), "utf8")).toBe("new a");
  });

  it("with --only extracts just the named paths", async () => {
    const fresh = join(temp.path, "fresh");
    const run = await runCli(["unpack", archive, fresh, "--only", "dir/b.txt", "--only", "empty"]);

    expect(run.code).toBe(0);
    expect(await listTree(fresh)).toEqual(["dir/", "dir/b.txt", "empty/"]);
  });

  it("prints one JSON document with --json", async () => {
    const run = await runCli(["unpack", archive, target, "--json"]);

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ target, checksum: await sha256sum(archive), files: 3 });
  });

  it("refuses a corrupt archive with one line, leaving the target as it was", async () => {
    const corrupt = join(temp.path, "corrupt.tar.gz");
    const bytes = await readFile(archive);
    await writeFile(corrupt, bytes.subarray(0, bytes.length - 30));
    const before = await listTree(target);

    const run = await runCli(["unpack", corrupt, target, "--truncate"]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^strongbox: [^\n]+\n$/);
    expect(await listTree(target)).toEqual(before);
    expect(await readFile(join(target, "a.txt"), "utf8")).toBe("old a");
  });

  it("refuses bytes that are not gzip, and removes the folder it created", async () => {
    const garbage = join(temp.path, "garbage.tar.gz");
    await writeFile(garbage, "this is not an archive at all");
    const fresh = join(temp.path, "fresh");

    const run = await runCli(["unpack", garbage, fresh]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^strongbox: [^\n]+\n$/);
    expect(await listTree(temp.path)).not.toContain("fresh/");
  });

  it.each<[string, number, string[], RegExp]>([
    ["a missing archive", 1, ["unpack", "missing.tar.gz", "target"], /does not exist/],
    ["a target whose parent does not exist", 1, ["unpack", "archive.tar.gz", "no/where"], /does not exist/],
    ["a target that is a file", 1, ["unpack", "archive.tar.gz", "target/a.txt"], /not a folder/],
    ["a missing target", 2, ["unpack", "archive.tar.gz"], /<dir>/],
    ["an extra argument", 2, ["unpack", "archive.tar.gz", "target", "more"], /more/],
  ])("refuses %s with one line and exit %i", async (_name, code, args, message) => {
    const run = await runCli(args, { cwd: temp.path });

    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(/^strongbox: [^\n]+\n$/);
    expect(run.stderr).toMatch(message);
  });
});
