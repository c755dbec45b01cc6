import { createReadStream, linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { extract } from "../src/archive/extract/extract.js";
import { HardLinkIndex } from "../src/archive/pack/pack-hard-links.js";
import type { PackOptions, RestoreMode } from "../src/archive/types.js";
import { decodePath, fsPath } from "../src/path-bytes.js";
import { listEntries, packCollecting } from "./helpers/pack-and-list.js";
import { raw, under } from "./helpers/raw-names.js";
import { EXTRACTORS, gnuTar } from "./helpers/real-tools.js";
import { useTempRoot } from "./helpers/temp-root.js";

const { root: tempRoot, fresh } = useTempRoot("strongbox-hard-links-");

const RAW_NAME = decodePath(raw("link-", 0xe9));

/** `a.txt` with three more names (one in a folder, one not UTF-8), and a file with one name. */
function writeLinkedTree(source: string): void {
  writeFileSync(join(source, "a.txt"), "shared content\n");
  linkSync(join(source, "a.txt"), join(source, "b.txt"));
  mkdirSync(join(source, "sub"));
  linkSync(join(source, "a.txt"), join(source, "sub/c.txt"));
  linkSync(join(source, "a.txt"), under(source, raw("link-", 0xe9)));
  writeFileSync(join(source, "single.txt"), "alone\n");
}

const pack = (source: string, options: PackOptions = {}) =>
  packCollecting(source, join(tempRoot(), "backup.tar.gz"), options);

/** The inode of each path under `dir`, and how many names it has. */
function inodes(dir: string, paths: string[]): Array<{ ino: number; nlink: number }> {
  return paths.map((path) => {
    const stat = statSync(fsPath(join(dir, path)));
    return { ino: stat.ino, nlink: stat.nlink };
  });
}

function expectOneFile(dir: string, paths: string[], nlink: number): void {
  const found = inodes(dir, paths);
  expect(new Set(found.map((f) => f.ino)).size).toBe(1);
  expect(found.map((f) => f.nlink)).toEqual(paths.map(() => nlink));
  for (const path of paths) expect(readFileSync(fsPath(join(dir, path)), "utf8")).toBe("shared content\n");
}

const LINKED = ["a.txt", "b.txt", "sub/c.txt", RAW_NAME];

describe("hard links in the source", () => {
  test("the first name is a file, later names are hard-link entries to it", async () => {
    const source = fresh("source");
    writeLinkedTree(source);

    const { archive, result, warnings } = await pack(source);

    expect(warnings).toEqual([]);
    expect(result).toMatchObject({ files: 5, sourceBytes: 15 + 6, skipped: 0 });
    const entries = (await listEntries(archive)).filter((e) => e.type !== "directory");
    expect(entries.map(({ path, type, size, linkTarget }) => ({ path, type, size, linkTarget }))).toEqual([
      { path: "a.txt", type: "file", size: 15, linkTarget: undefined },
      { path: "b.txt", type: "hardlink", size: 0, linkTarget: "a.txt" },
      { path: RAW_NAME, type: "hardlink", size: 0, linkTarget: "a.txt" },
      { path: "single.txt", type: "file", size: 6, linkTarget: undefined },
      { path: "sub/c.txt", type: "hardlink", size: 0, linkTarget: "a.txt" },
    ]);
  });

  for (const [reader, read] of Object.entries(EXTRACTORS)) {
    test(`${reader} restores them as hard links`, async () => {
      const source = fresh("source");
      writeLinkedTree(source);
      const { archive } = await pack(source);
      const out = fresh("out");
      read(archive, out);
      expectOneFile(out, LINKED, 4);
      expect(inodes(out, ["single.txt"])[0]?.nlink).toBe(1);
    });
  }

  for (const mode of ["truncate", "merge"] as RestoreMode[]) {
    test(`extract (${mode}) restores them as hard links, inside the target`, async () => {
      const source = fresh("source");
      writeLinkedTree(source);
      const { archive } = await pack(source);
      const target = fresh("target");
      writeFileSync(join(target, "b.txt"), "replaced by the link");

      const result = await extract(createReadStream(archive), target, { mode });

      expectOneFile(target, LINKED, 4);
      expect(result).toMatchObject({ files: 5, bytes: 15 + 6 });
    });
  }

  test("an ignored first name leaves the next one to carry the content", async () => {
    const source = fresh("source");
    writeLinkedTree(source);
    const { archive } = await pack(source, { ignore: ["a.txt"] });
    const entries = (await listEntries(archive)).filter((e) => e.type !== "directory");
    expect(entries.find((e) => e.path === "b.txt")).toMatchObject({ type: "file", size: 15 });
    expect(entries.filter((e) => e.type === "hardlink").map((e) => e.linkTarget)).toEqual(["b.txt", "b.txt"]);
    const out = fresh("out");
    gnuTar(["-xzf", archive, "-C", out]);
    expectOneFile(out, ["b.txt", "sub/c.txt", RAW_NAME], 3);
  });

  test("restoring only a later name whose first name is left out is refused, the target unchanged", async () => {
    const source = fresh("source");
    writeLinkedTree(source);
    const { archive } = await pack(source);
    const target = fresh("target");
    writeFileSync(join(target, "keep.txt"), "keep");

    await expect(extract(createReadStream(archive), target, { only: ["sub"] })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringContaining('add "a.txt"'),
    });
    expect(readFileSync(join(target, "keep.txt"), "utf8")).toBe("keep");

    await extract(createReadStream(archive), target, { only: ["sub", "a.txt"] });
    expectOneFile(target, ["a.txt", "sub/c.txt"], 2);
  });

  test("the index forgets a file once all its names are archived, so memory stays bounded", () => {
    const index = new HardLinkIndex();
    index.remember("1:7", 3, "a.txt");
    expect(index.earlierName("1:7")).toBe("a.txt");
    expect(index.earlierName("1:7")).toBe("a.txt");
    // Its three names are all archived: nothing is kept for it any more.
    expect(index.earlierName("1:7")).toBeUndefined();
    expect(index.earlierName("1:8")).toBeUndefined();
  });
});
