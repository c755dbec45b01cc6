import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256sum, tarList, writeTree } from "./helpers/fixtures.js";
import { makeTempDir, runCli } from "./helpers/run-cli.js";

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let src: string;

beforeEach(async () => {
  temp = await makeTempDir();
  src = join(temp.path, "server");
  await writeTree(src, {
    "server.properties": "motd=hello\n",
    "latest.log": "log line\n",
    "world/level.dat": "level",
    "world/region/r.0.0.mca": "region",
    "cache/blob.bin": "cached",
    "plugins/cache/p.bin": "plugin cache",
    "plugins/a.jar": "jar",
    "empty/": null,
  });
});

afterEach(() => temp.remove());

describe("strongbox pack", () => {
  it("writes a tar.gz that tar lists, with the checksum sha256sum computes, and no progress when piped", async () => {
    const out = join(temp.path, "out.tar.gz");
    const run = await runCli(["pack", src, "-o", out]);

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(await tarList(out)).toEqual([
      "cache/",
      "cache/blob.bin",
      "empty/",
      "latest.log",
      "plugins/",
      "plugins/a.jar",
      "plugins/cache/",
      "plugins/cache/p.bin",
      "server.properties",
      "world/",
      "world/level.dat",
      "world/region/",
      "world/region/r.0.0.mca",
    ]);
    expect(run.stdout.trim().split("\n").at(-1)).toBe(await sha256sum(out));
  });

  it("prints one JSON document with --json", async () => {
    const out = join(temp.path, "out.tar.gz");
    const run = await runCli(["pack", src, "-o", out, "--json", "--level", "9"]);

    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      file: out,
      checksum: await sha256sum(out),
      bytes: (await stat(out)).size,
      files: 7,
      directories: 6,
      symlinks: 0,
    });
  });

  it("leaves out what --ignore and --ignore-file match", async () => {
    const rules = join(temp.path, "rules.txt");
    await writeFile(rules, "# build output\r\ncache/\r\n!plugins/cache/\r\n");
    const out = join(temp.path, "out.tar.gz");
    const run = await runCli(
      ["pack", "server", "-o", "out.tar.gz", "--ignore", "*.log", "--ignore-file", "rules.txt"],
      {
        cwd: temp.path,
      },
    );

    expect(run.code).toBe(0);
    expect(await tarList(out)).toEqual([
      "empty/",
      "plugins/",
      "plugins/a.jar",
      "plugins/cache/",
      "plugins/cache/p.bin",
      "server.properties",
      "world/",
      "world/level.dat",
      "world/region/",
      "world/region/r.0.0.mca",
    ]);
  });

  it("reads an --ignore-file saved with a byte-order mark from its first rule on", async () => {
    await writeFile(join(temp.path, "rules.txt"), "\uFEFF*.properties\r\nworld/\r\n");
    const run = await runCli(
      ["pack", "server", "-o", "out.tar.gz", "--ignore", "*.log", "--ignore-file", "rules.txt"],
      { cwd: temp.path },
    );

    expect(run.code).toBe(0);
    expect(await tarList(join(temp.path, "out.tar.gz"))).toEqual([
      "cache/",
      "cache/blob.bin",
      "empty/",
      "plugins/",
      "plugins/a.jar",
      "plugins/cache/",
      "plugins/cache/p.bin",
    ]);
  });

  it("matches a rule of an --ignore-file holding a byte that is not UTF-8 against that byte", async () => {
    // A Latin-1 "café.txt" beside "cafe.txt"; the rule names the Latin-1 one by its bytes, as git reads it.
    await writeFile(Buffer.from(join(src, "caf\xe9.txt"), "latin1"), "latin-1 name");
    await writeFile(join(src, "cafe.txt"), "ascii name");
    await writeFile(join(temp.path, "rules.txt"), Buffer.from("caf\xe9.txt\n", "latin1"));
    const run = await runCli(["pack", "server", "-o", "out.tar.gz", "--ignore-file", "rules.txt"], {
      cwd: temp.path,
    });

    expect(run.code).toBe(0);
    const names = await tarList(join(temp.path, "out.tar.gz"));
    expect(names.filter((name) => name.startsWith("caf"))).toEqual(["cafe.txt"]);
  });

  it.each<[string, number, string[], RegExp]>([
    ["a folder that does not exist", 1, ["pack", "missing", "-o", "out.tar.gz"], /does not exist/],
    ["a file instead of a folder", 1, ["pack", "server/latest.log", "-o", "out.tar.gz"], /is not a folder/],
    [
      "an output folder that does not exist",
      1,
      ["pack", "server", "-o", "nowhere/out.tar.gz"],
      /does not exist/,
    ],
    ["an output that is a folder", 1, ["pack", "server", "-o", "server"], /is a folder/],
    ["a missing ignore file", 1, ["pack", "server", "-o", "out.tar.gz", "--ignore-file", "nope"], /nope/],
    ["a level out of range", 2, ["pack", "server", "-o", "out.tar.gz", "--level", "12"], /--level/],
    ["a level that is not a number", 2, ["pack", "server", "-o", "out.tar.gz", "--level", "fast"], /--level/],
    ["no -o", 2, ["pack", "server"], /-o/],
    ["no folder", 2, ["pack", "-o", "out.tar.gz"], /<dir>/],
    ["an unknown option", 2, ["pack", "server", "-o", "out.tar.gz", "--fast"], /--fast/],
  ])("refuses %s with one line and exit %i, writing nothing", async (_name, code, args, message) => {
    const before = await readdir(temp.path);
    const run = await runCli(args, { cwd: temp.path });

    expect(run.code).toBe(code);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^strongbox: [^\n]+\n$/);
    expect(run.stderr).toMatch(message);
    expect(await readdir(temp.path)).toEqual(before);
  });
});
