import { execFileSync } from "node:child_process";
import {
  createReadStream,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeEach, describe, expect, test } from "vitest";
import { type ArchiveWarning, contents, extract } from "../src/index.js";
import { snapshotTree, type TreeNode } from "./helpers/extract-tree.js";
import { bsdTar, gnuTar, goTarGz, pythonTarGz } from "./helpers/real-tools.js";
import { useTempDirs } from "./helpers/tree.js";

const tempDir = useTempDirs();
let root: string;

beforeEach(async () => {
  root = await tempDir("strongbox-foreign-");
});

function folder(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Extracts `archive` with Strongbox into a new folder; resolves with the folder and the warnings. */
async function extractWithWarnings(archive: string): Promise<{ target: string; warnings: ArchiveWarning[] }> {
  const target = join(root, "ours");
  const warnings: ArchiveWarning[] = [];
  await extract(createReadStream(archive), target, { onWarning: (w) => warnings.push(w) });
  return { target, warnings };
}

/**
 * A snapshot where folders carry no mtime: the folders an archive implies without listing them get the
 * time of extraction, which differs between two extractions.
 */
function withoutFolderTimes(tree: Record<string, TreeNode>): Record<string, TreeNode> {
  return Object.fromEntries(
    Object.entries(tree).map(([path, node]) => [
      path,
      node.type === "directory" ? { ...node, mtime: 0 } : node,
    ]),
  );
}

/** GNU tar's own extraction of `archive`, for the tree Strongbox must match. */
function extractWithGnu(archive: string): string {
  const dir = folder("by-gnu");
  gnuTar(["-xzf", archive, "-C", dir]);
  return dir;
}

/** Runs a Python tarfile script writing a gzip archive to `sys.argv[1]`; returns the archive's path. */
function pythonArchive(body: string): string {
  const archive = join(root, "py.tar.gz");
  pythonTarGz(archive, body);
  return archive;
}

/** Python lines adding a regular file `name` holding `text`. */
function pyFile(name: string, text: string, type = "REGTYPE"): string {
  return `    i = tarfile.TarInfo(${JSON.stringify(name)}); i.type = tarfile.${type}; i.size = ${text.length}; tar.addfile(i, io.BytesIO(${JSON.stringify(text)}.encode()))\n`;
}

describe("absolute member names (tar -P): extracted inside the target, as GNU tar does", () => {
  test("GNU tar -P", async () => {
    const source = folder("source/game");
    writeFileSync(join(source, "world.dat"), "world");
    linkSync(join(source, "world.dat"), join(source, "world.bak"));
    symlinkSync("world.dat", join(source, "current"));
    const archive = join(root, "abs.tar.gz");
    gnuTar(["-P", "-czf", archive, source]);
    expect(gnuTar(["-tzf", archive, "-P"]).stdout.toString()).toContain(`${source}/world.dat`);

    const { target, warnings } = await extractWithWarnings(archive);

    expect(withoutFolderTimes(snapshotTree(target))).toEqual(
      withoutFolderTimes(snapshotTree(extractWithGnu(archive))),
    );
    const inside = join(target, source.slice(1));
    expect(readFileSync(join(inside, "world.dat"), "utf8")).toBe("world");
    expect(lstatSync(join(inside, "world.bak")).ino).toBe(lstatSync(join(inside, "world.dat")).ino);
    expect(warnings.map((w) => w.code)).toEqual(["LEADING_SLASH_REMOVED"]);
  });

  test("Python tarfile", async () => {
    const archive = pythonArchive(
      `${pyFile("/srv/game/world.dat", "world")}    l = tarfile.TarInfo("/srv/game/link"); l.type = tarfile.LNKTYPE; l.linkname = "/srv/game/world.dat"; tar.addfile(l)\n`,
    );
    const { target, warnings } = await extractWithWarnings(archive);
    expect(withoutFolderTimes(snapshotTree(target))).toEqual(
      withoutFolderTimes(snapshotTree(extractWithGnu(archive))),
    );
    expect(readFileSync(join(target, "srv/game/link"), "utf8")).toBe("world");
    expect(warnings).toHaveLength(1);
  });

  test("Go archive/tar", async () => {
    const archive = join(root, "go.tar.gz");
    goTarGz(
      archive,
      `	data := []byte("from go")
	tw.WriteHeader(&tar.Header{Name: "/abs/go.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
	tw.Write(data)`,
    );
    const { target, warnings } = await extractWithWarnings(archive);
    expect(readFileSync(join(target, "abs/go.txt"), "utf8")).toBe("from go");
    expect(warnings).toHaveLength(1);
  });
});

describe("a hard link to a symlink: a second name for the link, as GNU tar makes it", () => {
  const producers: Record<string, (source: string, archive: string) => void> = {
    "GNU tar --format=gnu": (source, archive) => gnuTar(["--format=gnu", "-czf", archive, "-C", source, "."]),
    "GNU tar --format=pax": (source, archive) => gnuTar(["--format=pax", "-czf", archive, "-C", source, "."]),
    bsdtar: (source, archive) => bsdTar(["-czf", archive, "-C", source, "."]),
  };
  for (const [name, produce] of Object.entries(producers)) {
    test(name, async () => {
      const source = folder("source");
      writeFileSync(join(source, "config.yml"), "port: 25565\n");
      symlinkSync("config.yml", join(source, "a-link"));
      // ln makes a hard link to the symlink itself (link(2) does not follow on Linux).
      execFileSync("ln", [join(source, "a-link"), join(source, "b-hard")]);
      const archive = join(root, "a.tar.gz");
      produce(source, archive);
      expect(gnuTar(["-tvzf", archive]).stdout.toString()).toMatch(
        /b-hard link to \.\/a-link|a-link link to \.\/b-hard/,
      );

      const { target } = await extractWithWarnings(archive);

      expect(snapshotTree(target)).toEqual(snapshotTree(extractWithGnu(archive)));
      const [link, hard] = [lstatSync(join(target, "a-link")), lstatSync(join(target, "b-hard"))];
      expect([link.isSymbolicLink(), hard.isSymbolicLink(), hard.ino]).toEqual([true, true, link.ino]);
    });
  }
});

describe("other entry types: restored as GNU tar does, or refused with a reason", () => {
  test("a fifo (GNU tar) is refused: never created", async () => {
    const source = folder("source");
    execFileSync("mkfifo", [join(source, "pipe")]);
    const archive = join(root, "a.tar.gz");
    gnuTar(["-czf", archive, "-C", source, "."]);
    await expect(extractWithWarnings(archive)).rejects.toMatchObject({
      code: "UNSAFE_ARCHIVE_ENTRY",
      details: { path: "pipe" },
    });
  });

  for (const type of ["CHRTYPE", "BLKTYPE"]) {
    test(`a device (Python tarfile ${type}) is refused`, async () => {
      const archive = pythonArchive(
        `${pyFile("ok.txt", "ok")}    d = tarfile.TarInfo("dev"); d.type = tarfile.${type}; d.devmajor = 1; d.devminor = 3; tar.addfile(d)\n`,
      );
      await expect(extractWithWarnings(archive)).rejects.toMatchObject({ code: "UNSAFE_ARCHIVE_ENTRY" });
    });
  }

  test("a volume label (tar -V) names the archive and is skipped, as GNU tar skips it", async () => {
    const source = folder("source");
    writeFileSync(join(source, "a.txt"), "a");
    const archive = join(root, "a.tar.gz");
    gnuTar(["-V", "Weekly backup", "-czf", archive, "-C", source, "a.txt"]);
    const { target } = await extractWithWarnings(archive);
    expect(snapshotTree(target)).toEqual(snapshotTree(extractWithGnu(archive)));
    expect(Object.keys(snapshotTree(target))).toEqual(["a.txt"]);
  });

  for (const format of ["gnu", "pax"]) {
    test(`a later volume of a multi-volume archive (--format=${format}) is refused, naming why`, async () => {
      const source = folder("source");
      writeFileSync(join(source, "big.bin"), Buffer.alloc(300_000, 7));
      const [first, second] = [join(root, "v1.tar"), join(root, "v2.tar")];
      gnuTar([
        `--format=${format}`,
        "-c",
        "-M",
        "-L",
        "200",
        "-f",
        first,
        "-f",
        second,
        "-C",
        source,
        "big.bin",
      ]);
      const archive = join(root, "v2.tar.gz");
      writeFileSync(archive, gzipSync(readFileSync(second)));
      await expect(extractWithWarnings(archive)).rejects.toMatchObject({
        code: "INVALID_INPUT",
        message: expect.stringContaining("multi-volume"),
      });
      const firstGz = join(root, "v1.tar.gz");
      writeFileSync(firstGz, gzipSync(readFileSync(first)));
      rmSync(join(root, "ours"), { recursive: true, force: true });
      await expect(extractWithWarnings(firstGz)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    });
  }

  test("an unknown type letter (Python tarfile) is refused, where GNU tar would write a plain file", async () => {
    const archive = pythonArchive(
      `${pyFile("ok.txt", "ok")}${pyFile("odd", "data", 'REGTYPE; i.type = b"Q"')}`,
    );
    await expect(extractWithWarnings(archive)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { path: "odd", typeflag: "Q" },
    });
    const listed: string[] = [];
    for await (const entry of contents(createReadStream(archive))) listed.push(`${entry.path}:${entry.type}`);
    expect(listed).toEqual(["ok.txt:file", "odd:other"]);
  });

  test("a Solaris extended header (type X) is read as pax records, as GNU tar reads it", async () => {
    const records = "16 path=solaris\\n";
    const archive = pythonArchive(
      `    x = tarfile.TarInfo("PaxHeader"); x.type = b"X"; x.size = 16; tar.addfile(x, io.BytesIO(b"${records}"))\n${pyFile("stand-in", "sun")}`,
    );
    const { target } = await extractWithWarnings(archive);
    expect(snapshotTree(target)).toEqual(snapshotTree(extractWithGnu(archive)));
    expect(readFileSync(join(target, "solaris"), "utf8")).toBe("sun");
  });

  test("a contiguous file (type 7, Python tarfile) is a regular file, as GNU tar makes it", async () => {
    const archive = pythonArchive(pyFile("contiguous.bin", "contiguous", "CONTTYPE"));
    const { target } = await extractWithWarnings(archive);
    expect(snapshotTree(target)).toEqual(snapshotTree(extractWithGnu(archive)));
    expect(readFileSync(join(target, "contiguous.bin"), "utf8")).toBe("contiguous");
  });
});
