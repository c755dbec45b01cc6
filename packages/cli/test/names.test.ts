import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodePath, encodePath } from "@strongbox/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { quoteName, unquoteName } from "../src/tar-quote.js";
import { makeTempDir, runCli } from "./helpers/run-cli.js";

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let source: string;
let archive: string;

/** A name from its parts: strings are UTF-8, numbers raw bytes. */
const raw = (...parts: Array<string | number>): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.of(part))));

/** Names that `tar -t` prints escaped, or not, in every way its quoting knows. */
const NAMES = [
  raw("caf", 0xe9, ".txt"),
  raw("caf", 0xe8, ".txt"),
  raw("café.txt"),
  raw("back\\slash"),
  raw("new\nline"),
  raw("tab\tbell\x07esc\x1bdel\x7f"),
  raw("c1 \u0085 line-separator \u2028 unassigned \u0378"),
  raw("emoji 😀 nbsp\u00a0 zero-width\u200b"),
  raw('quote" and ?*'),
];

beforeEach(async () => {
  temp = await makeTempDir();
  source = join(temp.path, "src");
  mkdirSync(source);
  for (const name of NAMES) writeFileSync(Buffer.concat([Buffer.from(`${source}/`), name]), "x");
  mkdirSync(Buffer.from(`${source}/d\xff`, "latin1"));
  writeFileSync(Buffer.from(`${source}/d\xff/inner`, "latin1"), "inner");
  symlinkSync(raw("caf", 0xe9, ".txt"), Buffer.concat([Buffer.from(`${source}/`), raw("link", 0xf1)]));
  archive = join(temp.path, "archive.tar.gz");
  execFileSync("tar", ["-czf", archive, "-C", source, "."]);
});

afterEach(() => temp.remove());

/** The name column of `strongbox contents` lines (`perms size date time name[ -> target]`). */
const nameColumn = (line: string): string => line.replace(/^\S+ +\d+ \S+ \S+ /, "");

describe("names that are not UTF-8 in the CLI", () => {
  it("contents prints every name as tar -tzf does", async () => {
    const run = await runCli(["contents", archive]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    // What a user sees on a UTF-8 terminal (in the C locale GNU tar escapes every byte past ASCII).
    const env = { ...process.env, LC_ALL: "C.UTF-8" };
    const byGnu = execFileSync("tar", ["-tzf", archive], { encoding: "utf8", env })
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => (line === "./" ? line : line.replace(/^\.\//, "")));
    const ours = run.stdout
      .trimEnd()
      .split("\n")
      .map((line) => nameColumn(line).replace(/ -> .*$/, ""));
    expect(ours).toEqual(byGnu);
    expect(ours).toContain("caf\\351.txt");
    expect(run.stdout).toContain("link\\361 -> caf\\351.txt");
  });

  it("contents --json gives every name losslessly, as Python's surrogateescape reads it", async () => {
    const run = await runCli(["contents", archive, "--json"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('"caf\\udce9.txt"');
    const paths = (JSON.parse(run.stdout) as Array<{ path: string }>).map((entry) => entry.path);
    const expected = [...NAMES, raw("d", 0xff), raw("d", 0xff, "/inner"), raw("link", 0xf1)];
    const hex = (names: Buffer[]) => names.map((name) => name.toString("hex")).sort();
    expect(hex(paths.filter((p) => p !== ".").map(encodePath))).toEqual(hex(expected));
    const python = execFileSync(
      "python3",
      [
        "-c",
        'import json, sys\nfor e in json.load(sys.stdin):\n    print(e["path"].encode("utf-8", "surrogateescape").hex())',
      ],
      { input: run.stdout, encoding: "utf8" },
    );
    expect(python.trim().split("\n").sort()).toEqual(hex([Buffer.from("."), ...expected]));
  });

  it("unpack --only takes a name as contents prints it, or plainly", async () => {
    const target = join(temp.path, "target");
    const run = await runCli([
      "unpack",
      archive,
      target,
      "--only",
      "caf\\351.txt",
      "--only",
      "d\\377",
      "--only",
      "café.txt",
    ]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const names = readdirSync(target, { encoding: "buffer" }).map((name) => name.toString("hex"));
    expect(names.sort()).toEqual(
      [raw("caf", 0xe9, ".txt"), raw("café.txt"), raw("d", 0xff)].map((n) => n.toString("hex")).sort(),
    );
  });

  it("a message naming a byte that is not UTF-8 shows it escaped", async () => {
    const run = await runCli(["unpack", archive, join(temp.path, "target"), "--only", "nope\\351"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^strongbox: .*"nope\\351".*\n$/);
  });

  it("quoting round-trips every name", () => {
    for (const name of [...NAMES, raw("\\351 literal"), raw("trailing\\")]) {
      const decoded = decodePath(name);
      expect(unquoteName(quoteName(decoded))).toBe(decoded);
    }
    // A backslash before anything that is not an escape stays one.
    expect(unquoteName("a\\qb")).toBe("a\\qb");
  });
});
