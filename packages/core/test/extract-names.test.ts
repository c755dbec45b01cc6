import { createReadStream, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { contents } from "../src/archive/extract/contents.js";
import { extract } from "../src/archive/extract/extract.js";
import type { RestoreMode } from "../src/archive/types.js";
import { decodePath, hasRawBytes } from "../src/path-bytes.js";
import { type CraftEntry, craftTarGz } from "./helpers/craft-tar.js";
import { snapshotTree } from "./helpers/extract-tree.js";
import {
  CAFE_E8,
  CAFE_E9,
  DIR_FF,
  INNER_FE,
  LINK_F1,
  raw,
  under,
  writeRawNameTree,
} from "./helpers/raw-names.js";
import { bsdTar, byNameBytes, gnuTar, goTar, listTreeNames, pythonTar } from "./helpers/real-tools.js";
import { useTempRoot } from "./helpers/temp-root.js";

const { root: tempRoot, fresh } = useTempRoot("strongbox-names-");

const GO_PROGRAM = `package main

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
)

// Packs the current folder as Wings does: names are Go strings, that is raw bytes.
func main() {
	zw := gzip.NewWriter(os.Stdout)
	tw := tar.NewWriter(zw)
	err := filepath.Walk(".", func(path string, info os.FileInfo, err error) error {
		if err != nil || path == "." {
			return err
		}
		link := ""
		if info.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		header, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		header.Name = filepath.ToSlash(path)
		if info.IsDir() {
			header.Name += "/"
		}
		if err := tw.WriteHeader(header); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	tw.Close()
	zw.Close()
}
`;

/** Every real tool and format that can hold these names, each writing `archive` from `source`. */
const MAKERS: Record<string, (source: string, archive: string) => void> = {
  ...Object.fromEntries(
    ["gnu", "oldgnu", "pax", "posix", "ustar", "v7"].map((format) => [
      `GNU tar --format=${format}`,
      (source: string, archive: string) => gnuTar([`--format=${format}`, "-czf", archive, "-C", source, "."]),
    ]),
  ),
  bsdtar: (source, archive) => bsdTar(["-czf", archive, "-C", source, "."]),
  ...Object.fromEntries(
    ["PAX_FORMAT", "GNU_FORMAT", "USTAR_FORMAT"].map((format) => [
      `Python tarfile ${format}`,
      (source: string, archive: string) =>
        pythonTar(
          `with tarfile.open(${JSON.stringify(archive)}, "w:gz", format=tarfile.${format}) as t:\n    t.add(".")`,
          [],
          source,
        ),
    ]),
  ),
  "Go archive/tar (as Wings)": (source, archive) => {
    writeFileSync(archive, goTar(GO_PROGRAM, [], source).stdout);
  },
};

describe("names that are not UTF-8, in archives made by the real tools", () => {
  for (const [maker, make] of Object.entries(MAKERS)) {
    for (const mode of ["truncate", "merge"] as RestoreMode[]) {
      test(`${maker}, ${mode}: every name restored byte-exact, as GNU tar restores them`, async () => {
        const source = fresh("source");
        writeRawNameTree(source);
        const archive = join(tempRoot(), "archive.tar.gz");
        make(source, archive);
        const byGnu = fresh("by-gnu");
        gnuTar(["-xzf", archive, "-C", byGnu]);
        const ours = fresh("ours");
        writeFileSync(join(ours, "old.txt"), "stays unless truncated");

        const result = await extract(createReadStream(archive), ours, { mode });

        const kept = mode === "merge" ? ["old.txt"] : [];
        expect(listTreeNames(ours)).toEqual([...listTreeNames(byGnu), ...kept].sort(byNameBytes));
        expect(listTreeNames(byGnu)).toEqual(listTreeNames(source));
        // Compared with the source, not GNU tar's tree: GNU tar 1.34 leaves some folders of bsdtar's
        // archives with the time of extraction.
        const tree = snapshotTree(ours, (path) => path === "old.txt");
        expect(tree).toEqual(snapshotTree(source));
        expect(tree[decodePath(LINK_F1)]).toMatchObject({
          type: "symlink",
          linkTarget: decodePath(CAFE_E9),
        });
        expect(result).toMatchObject({ files: 4, symlinks: 1 });
      });
    }
  }
});

describe("names that are not UTF-8 already in the target", () => {
  function targetWithOldEntries(): string {
    const target = fresh("target");
    writeFileSync(under(target, CAFE_E9), "old e9");
    mkdirSync(under(target, DIR_FF));
    writeFileSync(under(target, DIR_FF, raw("old", 0xfd)), "old inner");
    writeFileSync(under(target, raw("kept", 0xfc)), "kept");
    return target;
  }

  async function archiveOfRawNameTree(): Promise<string> {
    const source = fresh("source");
    writeRawNameTree(source);
    const archive = join(tempRoot(), "archive.tar.gz");
    gnuTar(["-czf", archive, "-C", source, "."]);
    return archive;
  }

  test("merge replaces the same bytes, merges into the same folder and leaves other names alone", async () => {
    const archive = await archiveOfRawNameTree();
    const target = targetWithOldEntries();
    await extract(createReadStream(archive), target, { mode: "merge" });
    expect(readFileSync(under(target, CAFE_E9), "utf8")).toBe("e9");
    expect(readFileSync(under(target, DIR_FF, raw("old", 0xfd)), "utf8")).toBe("old inner");
    expect(readFileSync(under(target, DIR_FF, INNER_FE), "utf8")).toBe("inner");
    expect(readFileSync(under(target, raw("kept", 0xfc)), "utf8")).toBe("kept");
  });

  test("truncate with keep rules keeps what they select, by its bytes, and removes the rest", async () => {
    const archive = await archiveOfRawNameTree();
    const target = targetWithOldEntries();
    const keep = `kept${decodePath(raw(0xfc))}\nold?`;
    await extract(createReadStream(archive), target, { mode: "truncate", keep });
    expect(readFileSync(under(target, raw("kept", 0xfc)), "utf8")).toBe("kept");
    expect(readFileSync(under(target, DIR_FF, raw("old", 0xfd)), "utf8")).toBe("old inner");
    expect(readFileSync(under(target, CAFE_E9), "utf8")).toBe("e9");
    const source = fresh("expected");
    writeRawNameTree(source);
    writeFileSync(under(source, raw("kept", 0xfc)), "kept");
    writeFileSync(under(source, DIR_FF, raw("old", 0xfd)), "old inner");
    expect(listTreeNames(target)).toEqual(listTreeNames(source));
  });
});

describe("names that are not UTF-8: only the final name counts", () => {
  test("GNU tar's ustar name cut mid-character before its long-name record restores without complaint", async () => {
    const source = fresh("source");
    // 1 + 2 x 60 bytes: the 100-byte ustar field ends in the middle of an "é".
    const name = `a${"é".repeat(60)}.txt`;
    writeFileSync(join(source, name), "long");
    const archive = join(tempRoot(), "cut.tar.gz");
    gnuTar(["--format=gnu", "-czf", archive, "-C", source, name]);
    const headers = gunzipSync(readFileSync(archive));
    expect(headers.subarray(0, 13).toString()).toBe("././@LongLink");
    // The entry's own header follows the long-name record (one header, one data block).
    expect(hasRawBytes(decodePath(headers.subarray(1024, 1024 + 100)))).toBe(true);

    for (const mode of ["truncate", "merge"] as RestoreMode[]) {
      const ours = fresh(`ours-${mode}`);
      const warnings: unknown[] = [];
      await extract(createReadStream(archive), ours, { mode, onWarning: (w) => warnings.push(w) });
      expect(listTreeNames(ours)).toEqual([name]);
      expect(warnings).toEqual([]);
    }
    const listed: string[] = [];
    for await (const entry of contents(createReadStream(archive))) listed.push(entry.path);
    expect(listed).toEqual([name]);
  });

  test("GNU long-name and long-link records keep names and targets that are not UTF-8", async () => {
    const source = fresh("source");
    const longName = raw("link-", 0xe9, "n".repeat(120));
    const longTarget = raw("target-", 0xe8, "t".repeat(120));
    symlinkSync(longTarget, under(source, longName));
    const archive = join(tempRoot(), "long.tar.gz");
    gnuTar(["--format=gnu", "-czf", archive, "-C", source, "."]);
    expect(gunzipSync(readFileSync(archive)).includes("././@LongLink")).toBe(true);
    const ours = fresh("ours");
    await extract(createReadStream(archive), ours);
    expect(snapshotTree(ours)[decodePath(longName)]).toMatchObject({
      type: "symlink",
      linkTarget: decodePath(longTarget),
    });
  });

  test("a raw byte and the U+FFFD a lossy decoder would make of it stay two files", async () => {
    const archive = craftTarGz([
      { path: "caf\udce9.txt", content: "raw" },
      { path: "caf\ufffd.txt", content: "replacement character" },
      { path: "caf\udce8.txt", content: "other raw" },
    ]);
    const ours = fresh("ours");
    const result = await extract(Readable.from([archive]), ours, { mode: "truncate" });
    expect(result.files).toBe(3);
    const tree = snapshotTree(ours);
    expect(Object.keys(tree).sort()).toEqual(["caf\udce8.txt", "caf\udce9.txt", "caf\ufffd.txt"].sort());
    expect(readFileSync(under(ours, CAFE_E9), "utf8")).toBe("raw");
  });

  test("--only selects a name that is not UTF-8, in its decoded form", async () => {
    const source = fresh("source");
    writeRawNameTree(source);
    const archive = join(tempRoot(), "archive.tar.gz");
    gnuTar(["-czf", archive, "-C", source, "."]);
    const ours = fresh("ours");
    await extract(createReadStream(archive), ours, { only: [decodePath(DIR_FF), decodePath(CAFE_E8)] });
    expect(listTreeNames(ours)).toEqual(
      [decodePath(CAFE_E8), `${decodePath(DIR_FF)}/`, `${decodePath(DIR_FF)}/${decodePath(INNER_FE)}`].sort(
        byNameBytes,
      ),
    );
  });
});

describe("names that are not UTF-8: every containment check holds", () => {
  const cases: Record<string, CraftEntry[]> = {
    "a .. behind a raw-byte folder": [{ path: "\udcff/../../escaped.txt", content: "pwned" }],
    "a write through a symlink whose name is not UTF-8": [
      { path: "l\udcff", type: "symlink", linkTarget: "../outside" },
      { path: "l\udcff/pwned.txt", content: "pwned" },
    ],
    "a hard link out of the tree to a raw-byte name": [
      { path: "h", type: "hardlink", linkTarget: "../outside/\udce9.txt" },
    ],
    "a hard link to a raw-byte name not extracted before it": [
      { path: "h", type: "hardlink", linkTarget: "caf\udce9.txt" },
      { path: "caf\udce9.txt", content: "later" },
    ],
  };
  for (const [name, entries] of Object.entries(cases)) {
    for (const mode of ["truncate", "merge"] as RestoreMode[]) {
      test(`${name} (${mode}) is refused and nothing changes`, async () => {
        const outside = fresh("outside");
        writeFileSync(under(outside, raw(0xe9, ".txt")), "outside");
        const target = fresh("target");
        writeFileSync(join(target, "old.txt"), "old");
        const before = [snapshotTree(outside), snapshotTree(target)];
        await expect(extract(Readable.from([craftTarGz(entries)]), target, { mode })).rejects.toMatchObject({
          code: "UNSAFE_ARCHIVE_ENTRY",
        });
        expect([snapshotTree(outside), snapshotTree(target)]).toEqual(before);
      });
    }
  }

  test("a merge never writes through a symlink with a raw-byte name standing in the target", async () => {
    const outside = fresh("outside");
    const target = fresh("target");
    symlinkSync(outside, under(target, DIR_FF));
    const archive = craftTarGz([
      { path: `${decodePath(DIR_FF)}/`, type: "directory" },
      { path: `${decodePath(DIR_FF)}/pwned.txt`, content: "pwned" },
    ]);
    await expect(extract(Readable.from([archive]), target, { mode: "merge" })).rejects.toMatchObject({
      code: "UNSAFE_ARCHIVE_ENTRY",
    });
    expect(listTreeNames(outside)).toEqual([]);
  });
});
