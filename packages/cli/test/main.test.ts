import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryStream, writeTree } from "./helpers/fixtures.js";
import { makeTempDir, runCli } from "./helpers/run-cli.js";

describe("strongbox (spawned)", () => {
  it("prints its version", async () => {
    const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
    const run = await runCli(["--version"]);

    expect(run).toMatchObject({ code: 0, stdout: `${manifest.version}\n`, stderr: "" });
  });

  it("lists the commands with --help", async () => {
    const run = await runCli(["--help"]);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}pack +\S/m);
    expect(run.stdout).toMatch(/^ {2}unpack +\S/m);
    expect(run.stdout).toMatch(/^ {2}contents +\S/m);
  });

  it("prints a command's usage with -h, ignoring its other arguments", async () => {
    const run = await runCli(["pack", "-h", "--level", "99"]);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: strongbox pack <dir> -o <file\.tar\.gz>/);
  });

  it.each([
    ["an unknown command", ["frobnicate"]],
    ["a name from Object.prototype", ["constructor"]],
  ])("refuses %s with one line and exit 2", async (_name, args) => {
    const run = await runCli(args);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^strongbox: unknown command "[a-z]+" \(see "strongbox --help"\)\.\n$/);
  });

  it("prints the help on stderr and exits 2 without a command", async () => {
    const run = await runCli([]);

    expect(run).toMatchObject({ code: 2, stdout: "" });
    expect(run.stderr).toMatch(/^Usage: strongbox <command>/);
  });
});

describe("main (in process)", () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    temp = await makeTempDir();
    await writeTree(temp.path, { "src/a.txt": "a" });
  });
  afterEach(() => temp.remove());

  it("stops a cancelled pack with exit 130 and leaves no archive", async () => {
    const stdout = memoryStream();
    const stderr = memoryStream();
    const code = await main(["pack", "src", "-o", "out.tar.gz"], {
      cwd: temp.path,
      stdout: stdout.stream,
      stderr: stderr.stream,
      signal: AbortSignal.abort(),
    });

    expect(code).toBe(130);
    expect(stdout.text()).toBe("");
    expect(stderr.text()).toMatch(/^strongbox: [^\n]+\n$/);
    await expect(readFile(join(temp.path, "out.tar.gz"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
