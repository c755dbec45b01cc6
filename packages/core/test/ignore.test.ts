import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { isStrongboxError } from "../src/errors.js";
import { createIgnoreMatcher, parseIgnoreRules } from "../src/ignore.js";

type Case = [rules: string | string[], path: string, isDirectory: boolean, ignored: boolean];

const cases: Record<string, Case[]> = {
  "a name without a slash matches at any depth": [
    ["*.log", "server.log", false, true],
    ["*.log", "logs/deep/server.log", false, true],
    ["*.log", "server.log.gz", false, false],
    ["*.log", "logs", true, false],
    ["latest", "a/b/latest", true, true],
    ["latest", "a/b/latest", false, true],
  ],
  "a trailing slash matches directories and what they hold": [
    ["cache/", "cache", true, true],
    ["cache/", "cache", false, false],
    ["cache/", "plugins/cache", true, true],
    ["cache/", "cache/x.txt", false, true],
    ["cache/", "plugins/cache/a/b.dat", false, true],
    ["cache/", "cached", true, false],
  ],
  "a leading slash anchors to the root": [
    ["/config.yml", "config.yml", false, true],
    ["/config.yml", "plugins/config.yml", false, false],
    ["/world/", "world", true, true],
    ["/world/", "backup/world", true, false],
  ],
  "a slash in the middle anchors to the root": [
    ["plugins/*.jar", "plugins/a.jar", false, true],
    ["plugins/*.jar", "old/plugins/a.jar", false, false],
    ["plugins/*.jar", "plugins/sub/a.jar", false, false],
  ],
  "** spans directories": [
    ["**/temp/*", "temp/x", false, true],
    ["**/temp/*", "a/b/temp/x", false, true],
    ["**/temp/*", "a/temp", true, false],
    ["a/**/b", "a/b", false, true],
    ["a/**/b", "a/x/y/b", false, true],
    ["a/**/b", "c/a/x/b", false, false],
    ["logs/**", "logs/x/y.txt", false, true],
    ["logs/**", "logs", true, false],
    ["**", "anything/at/all", false, true],
    ["a**b", "a/b", false, false],
    ["a**b", "axxb", false, true],
  ],
  "!pattern re-includes, the last match wins": [
    [["*.log", "!keep.log"], "keep.log", false, false],
    [["*.log", "!keep.log"], "other.log", false, true],
    [["!keep.log", "*.log"], "keep.log", false, true],
    [["logs/**", "!logs/keep.txt"], "logs/keep.txt", false, false],
    [["cache/", "!cache/"], "cache/x", false, false],
  ],
  "a file inside an excluded directory cannot be re-included": [
    [["cache/", "!cache/keep.txt"], "cache/keep.txt", false, true],
    [["/data", "!data/*.json"], "data/a.json", false, true],
  ],
  "comments, blank lines, CRLF": [
    ["# *.log\n*.tmp", "a.log", false, false],
    ["# *.log\n*.tmp", "a.tmp", false, true],
    ["\\#notes", "#notes", false, true],
    ["*.log\r\n\r\n\r\ncache/\r\n", "x.log", false, true],
    ["*.log\r\n\r\n\r\ncache/\r\n", "cache", true, true],
    ["\\!important", "!important", false, true],
    ["\\!important", "important", false, false],
  ],
  "trailing spaces are trimmed unless escaped": [
    ["*.log   ", "a.log", false, true],
    ["name\\ ", "name ", false, true],
    ["name\\ ", "name", false, false],
    ["name\\\\ ", "name\\", false, true],
  ],
  "? and character classes": [
    ["file?.txt", "file1.txt", false, true],
    ["file?.txt", "file10.txt", false, false],
    ["a?b", "a/b", false, false],
    ["[a-c].txt", "b.txt", false, true],
    ["[a-c].txt", "d.txt", false, false],
    ["[!a-c].txt", "d.txt", false, true],
    ["[!a-c].txt", "a.txt", false, false],
    ["[^a-c].txt", "d.txt", false, true],
    ["[]x].txt", "].txt", false, true],
    ["[a-].txt", "-.txt", false, true],
    ["[.txt", "[.txt", false, false],
    [["[ab", "b"], "b", false, true],
    ["[z-a]", "a", false, false],
    [["[z-a]", "*.log"], "a.log", false, true],
    ["\\*.txt", "*.txt", false, true],
    ["\\*.txt", "a.txt", false, false],
  ],
  "POSIX classes": [
    ["[[:digit:]]x", "7x", false, true],
    ["[[:digit:]]x", "ax", false, false],
    ["[[:upper:]]", "Q", false, true],
    ["[[:upper:]]", "q", false, false],
    ["[[:space:]]s", " s", false, true],
    ["[[:space:]]s", "xs", false, false],
    ["[![:alpha:]]", "1", false, true],
    ["[![:alpha:]]", "a", false, false],
    ["[[:nope:]]", "n", false, false],
  ],
  "a byte-order mark starts the text only": [
    ["\uFEFF*.log\ncache/", "a.log", false, true],
    ["\uFEFF\uFEFF*.log\nb", "a.log", false, false],
    ["\uFEFF\uFEFF*.log\nb", "\uFEFFa.log", false, true],
    [["\uFEFF*.log"], "a.log", false, true],
  ],
  "one \\r before a line end is dropped": [
    ["a\r\r\nb", "a\r", false, true],
    ["a\r\r\nb", "a", false, false],
  ],
  "names that are not UTF-8, as decodePath gives them": [
    ["caf\udce9.txt", "caf\udce9.txt", false, true],
    ["caf\udce9.txt", "caf\udce8.txt", false, false],
    ["caf?.txt", "caf\udce9.txt", false, true],
  ],
  "literal regex characters": [
    ["a+b(1).txt", "a+b(1).txt", false, true],
    ["a.txt", "abtxt", false, false],
    ["{a,b}", "{a,b}", false, true],
  ],
  "case-sensitive": [["*.LOG", "a.log", false, false]],
};

describe("createIgnoreMatcher", () => {
  for (const [rule, table] of Object.entries(cases)) {
    it.each(table)(`${rule}: %j on %s (dir: %s) -> %s`, (rules, path, isDirectory, ignored) => {
      expect(createIgnoreMatcher(rules).ignores(path, isDirectory)).toBe(ignored);
    });
  }

  it("ignores nothing without rules, or with only blank lines and comments", () => {
    expect(createIgnoreMatcher("").ignores("a/b", false)).toBe(false);
    expect(createIgnoreMatcher([]).ignores("a", true)).toBe(false);
    const none = createIgnoreMatcher(["\uFEFF# comment", "", "   ", "#*", "\r"]);
    for (const path of ["a", "#*", "# comment", " ", "cache/x.tmp"]) {
      expect(none.ignores(path, false)).toBe(false);
      expect(none.ignores(path, true)).toBe(false);
    }
    // A rule that only looks like a comment is one.
    expect(createIgnoreMatcher(["\\#x"]).ignores("#x", false)).toBe(true);
  });

  it("answers the same when asked about siblings, then another directory", () => {
    const matcher = createIgnoreMatcher(["cache/", "*.tmp"]);
    const asked: [string, boolean][] = [
      ["cache/a", false],
      ["cache/b", false],
      ["world/a", false],
      ["world/b.tmp", false],
      ["cache/c", false],
    ];
    expect(asked.map(([path, dir]) => matcher.ignores(path, dir))).toEqual([true, true, false, true, true]);
  });

  it("refuses rules that are neither a string nor strings with INVALID_INPUT", () => {
    for (const rules of [42, ["*.log", 7], { rules: "*.log" }]) {
      let caught: unknown;
      try {
        createIgnoreMatcher(rules as unknown as string[]);
      } catch (error) {
        caught = error;
      }
      expect(isStrongboxError(caught, "INVALID_INPUT")).toBe(true);
    }
  });

  it("answers as before once it has been asked about many more paths than it remembers", () => {
    const rules = ["cache/", "*.tmp", "!keep.tmp"];
    const matcher = createIgnoreMatcher(rules);
    const paths = Array.from({ length: 20_000 }, (_, i) => [
      `d${i % 7}/${i % 3 ? "cache" : "w"}/f${i}.tmp`,
      `w/keep.tmp`,
    ]);
    const answers = paths.flat().map((path) => matcher.ignores(path, false));
    const fresh = paths.flat().map((path) => createIgnoreMatcher(rules).ignores(path, false));
    expect(answers).toEqual(fresh);
    expect(answers.slice(0, 6)).toEqual([true, false, true, false, true, false]);
  });
});

describe("parseIgnoreRules", () => {
  it("keeps rule lines only, normalized", () => {
    expect(parseIgnoreRules("# comment\r\n*.log  \r\n\n  \n\\#x\n!keep.log\nname\\ ")).toEqual([
      "*.log",
      "\\#x",
      "!keep.log",
      "name\\ ",
    ]);
  });

  it("drops a leading byte-order mark and one \\r before each line end, as git reads a file", () => {
    expect(parseIgnoreRules("\uFEFF*.log\r\na\r\r\n\uFEFFb")).toEqual(["*.log", "a\r", "\uFEFFb"]);
  });

  it("splits array elements that hold newlines", () => {
    expect(parseIgnoreRules(["a\nb", "", "#c", "d"])).toEqual(["a", "b", "d"]);
  });
});

describe("loading the ignore package", () => {
  it("happens only once rules need it, through require: never for a walk without rules", () => {
    // A process of its own: the package, once loaded, stays in the require cache of every test after.
    const ignoreModule = new URL("../src/ignore.ts", import.meta.url).href;
    const script = `
      import { createRequire } from "node:module";
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes("/ignore/index.js"));
      const { createIgnoreMatcher } = await import(${JSON.stringify(ignoreModule)});
      const seen = [loaded()];
      createIgnoreMatcher("# only a comment\\n\\n");
      seen.push(loaded());
      seen.push(createIgnoreMatcher("*.log").ignores("server.log", false), loaded());
      console.log(JSON.stringify(seen));`;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(JSON.parse(out)).toEqual([false, false, true, true]);
  });
});
