import { execFileSync } from "node:child_process";
import { createReadStream, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { extract } from "../src/archive/extract/extract.js";
import type { PackOptions } from "../src/archive/types.js";
import { decodePath, encodePath, fsPath } from "../src/path-bytes.js";
import { snapshotTree } from "./helpers/extract-tree.js";
import { listEntries, packCollecting } from "./helpers/pack-and-list.js";
import { DIR_FF, INNER_FE, LINK_F1, raw, under, writeRawNameTree } from "./helpers/raw-names.js";
import { EXTRACTORS, goTar, listTreeNames } from "./helpers/real-tools.js";
import { useTempRoot } from "./helpers/temp-root.js";

const { root: tempRoot, fresh } = useTempRoot("strongbox-pack-names-");

/** Go's archive/tar reading a tar.gz: each entry's name and link target, as hex of their bytes. */
const GO_LIST = `package main
import ("archive/tar"; "compress/gzip"; "encoding/hex"; "fmt"; "io"; "os")
func main() {
	file, err := os.Open(os.Args[1])
	if err != nil { panic(err) }
	zr, err := gzip.NewReader(file)
	if err != nil { panic(err) }
	tr := tar.NewReader(zr)
	for {
		header, err := tr.Next()
		if err == io.EOF { return }
		if err != nil { panic(err) }
		fmt.Println(hex.EncodeToString([]byte(header.Name)), hex.EncodeToString([]byte(header.Linkname)))
	}
}
`;

const pack = (source: string, options: PackOptions = {}) =>
  packCollecting(source, join(tempRoot(), "backup.tar.gz"), options);

describe("pack keeps names that are not UTF-8", () => {
  test("short names go in ustar fields: every reader restores the same bytes, silently", async () => {
    const source = fresh("source");
    writeRawNameTree(source);

    const { archive, result, warnings } = await pack(source);

    expect(warnings).toEqual([]);
    expect(result).toMatchObject({ files: 4, symlinks: 1, directories: 1, skipped: 0 });
    for (const [reader, read] of Object.entries(EXTRACTORS)) {
      const out = fresh(reader);
      expect({ reader, stderr: read(archive, out).stderr }).toEqual({ reader, stderr: "" });
      expect({ reader, names: listTreeNames(out) }).toEqual({ reader, names: listTreeNames(source) });
      expect(readlinkSync(under(out, LINK_F1), "buffer")).toEqual(
        readlinkSync(under(source, LINK_F1), "buffer"),
      );
    }
    const ours = fresh("ours");
    await extract(createReadStream(archive), ours, { mode: "truncate" });
    expect(snapshotTree(ours)).toEqual(snapshotTree(source));
  });

  test("long names and link targets go in GNU long-name records, read back byte-exact and silently", async () => {
    const source = fresh("source");
    const longDir = raw("dir-", 0xe9, "x".repeat(150));
    const longFile = raw("file-", 0xe8, "y".repeat(120));
    const longTarget = raw("target-", 0xfe, "z".repeat(120));
    mkdirSync(under(source, longDir));
    writeFileSync(under(source, longDir, longFile), "deep");
    // A symlink's target is data: any bytes, not only names that exist.
    symlinkSync(longTarget, under(source, raw("link-", 0xf1)));

    const { archive, warnings } = await pack(source);

    expect(warnings).toEqual([]);
    const tar = gunzipSync(readFileSync(archive));
    expect(tar.includes("././@LongLink")).toBe(true);
    expect(tar.includes("hdrcharset")).toBe(false);
    for (const [reader, read] of Object.entries(EXTRACTORS)) {
      const out = fresh(reader);
      expect({ reader, stderr: read(archive, out).stderr }).toEqual({ reader, stderr: "" });
      expect({ reader, names: listTreeNames(out) }).toEqual({ reader, names: listTreeNames(source) });
      expect(readlinkSync(under(out, raw("link-", 0xf1)), "buffer")).toEqual(longTarget);
    }
    const goListing = goTar(GO_LIST, [archive]);
    expect(goListing.stderr).toBe("");
    const hex = (bytes: Buffer) => bytes.toString("hex");
    expect(goListing.stdout.toString().trim().split("\n").sort()).toEqual(
      [
        `${hex(Buffer.concat([longDir, Buffer.from("/")]))} `,
        `${hex(Buffer.concat([longDir, Buffer.from("/"), longFile]))} `,
        `${hex(raw("link-", 0xf1))} ${hex(longTarget)}`,
      ].sort(),
    );
    const ours = fresh("ours");
    await extract(createReadStream(archive), ours);
    expect(snapshotTree(ours)).toEqual(snapshotTree(source));
  });

  test("a root folder whose own name is not UTF-8 packs, given decoded", async () => {
    const source = join(fresh("parent"), decodePath(raw("root-", 0xe9)));
    mkdirSync(fsPath(source));
    writeRawNameTree(source);
    const { archive, warnings } = await pack(source);
    expect(warnings).toEqual([]);
    const out = fresh("out");
    await extract(createReadStream(archive), out);
    expect(listTreeNames(out)).toEqual(listTreeNames(source));
  });

  test("contents lists them decoded, losslessly", async () => {
    const source = fresh("source");
    writeRawNameTree(source);
    const { archive } = await pack(source);
    const paths = (await listEntries(archive)).map((entry) => entry.path);
    expect(paths.map((path) => encodePath(path).toString("hex")).sort()).toEqual(
      listTreeNames(source)
        .map((name) => encodePath(name.replace(/\/$/, "")).toString("hex"))
        .sort(),
    );
  });
});

describe("ignore rules see names that are not UTF-8, as git does", () => {
  test("a rule with raw bytes in .pteroignore and a wildcard select them; git ignores the same files", async () => {
    const source = fresh("source");
    writeRawNameTree(source);
    // The first rule holds the name's raw byte; in the second, `?` stands for one (git matches bytes).
    const rules = raw("caf", 0xe9, ".txt\nx?\n");
    writeFileSync(join(source, ".pteroignore"), rules);
    writeFileSync(join(source, ".gitignore"), rules);
    git(source, ["init", "-q"]);

    const { archive } = await pack(source, { ignore: [".git/", ".gitignore"] });

    const archived = (await listEntries(archive)).filter((e) => e.type !== "directory").map((e) => e.path);
    const notIgnoredByGit = gitUntracked(source).filter((path) => path !== ".gitignore");
    expect(archived.sort()).toEqual(notIgnoredByGit.sort());
    expect(archived).not.toContain(decodePath(raw("caf", 0xe9, ".txt")));
    expect(archived).toContain(decodePath(raw("caf", 0xe8, ".txt")));
    expect(archived).toContain(".pteroignore");
    expect(archived).not.toContain(`${decodePath(DIR_FF)}/${decodePath(INNER_FE)}`);
  });
});

/** The untracked files git does not ignore in `dir`, decoded from git's NUL-separated bytes. */
function gitUntracked(dir: string): string[] {
  const out = git(dir, ["ls-files", "--others", "--exclude-standard", "-z"]);
  return out
    .toString("latin1")
    .split("\0")
    .filter((name) => name !== "")
    .map((name) => decodePath(Buffer.from(name, "latin1")));
}

function git(dir: string, args: string[]): Buffer {
  return execFileSync("git", args, { cwd: dir });
}
