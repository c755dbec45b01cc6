import { createReadStream, lstatSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { lutimes, utimes } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, test } from "vitest";
import { extract, packToFile } from "../src/index.js";
import { gnuTar, goTarGz, pythonTarGz } from "./helpers/real-tools.js";
import { useTempDirs } from "./helpers/tree.js";

/** 1969-07-20T20:17:40Z, the Moon landing, and 1901-12-14T00:00:00Z, a little after the 32-bit minimum. */
const MOON = -14_182_940;
const OLD = -2_147_472_000;

const tempDir = useTempDirs();
let root: string;

beforeEach(async () => {
  root = await tempDir("strongbox-old-times-");
});

/** Whole seconds of a path's mtime, not following a symlink. */
function mtimeOf(path: string): number {
  return Math.floor(lstatSync(path).mtimeMs / 1000);
}

/** A tree with a file, a folder and a symlink from before 1970 (times set through Date: Node's way). */
async function writeOldTree(dir: string): Promise<void> {
  mkdirSync(join(dir, "old-dir"), { recursive: true });
  writeFileSync(join(dir, "old-dir", "moon.txt"), "one small step\n");
  symlinkSync("old-dir/moon.txt", join(dir, "link"));
  const at = (seconds: number) => new Date(seconds * 1000);
  await utimes(join(dir, "old-dir", "moon.txt"), at(MOON), at(MOON));
  await lutimes(join(dir, "link"), at(MOON - 1), at(MOON - 1));
  await utimes(join(dir, "old-dir"), at(OLD), at(OLD));
}

async function expectOldTimes(target: string, withLink = true): Promise<void> {
  expect(mtimeOf(join(target, "old-dir", "moon.txt"))).toBe(MOON);
  expect(mtimeOf(join(target, "old-dir"))).toBe(OLD);
  if (withLink) expect(mtimeOf(join(target, "link"))).toBe(MOON - 1);
}

describe("mtimes before 1970 are restored, not replaced by the time of extraction", () => {
  for (const format of ["gnu", "oldgnu", "pax"]) {
    test(`GNU tar --format=${format}`, async () => {
      const source = join(root, "source");
      await writeOldTree(source);
      const archive = join(root, "a.tar.gz");
      gnuTar([`--format=${format}`, "-czf", archive, "-C", source, "."]);
      const target = join(root, "target");
      await extract(createReadStream(archive), target);
      await expectOldTimes(target);
      const byGnu = join(root, "by-gnu");
      mkdirSync(byGnu);
      gnuTar(["-xzf", archive, "-C", byGnu]);
      await expectOldTimes(byGnu);
    });
  }

  for (const format of ["GNU_FORMAT", "PAX_FORMAT"]) {
    test(`Python tarfile ${format}`, async () => {
      const archive = join(root, "a.tar.gz");
      pythonTarGz(
        archive,
        `    d = tarfile.TarInfo("old-dir"); d.type = tarfile.DIRTYPE; d.mode = 0o755; d.mtime = ${OLD}
    tar.addfile(d)
    data = b"one small step\\n"
    f = tarfile.TarInfo("old-dir/moon.txt"); f.size = len(data); f.mtime = ${MOON}
    tar.addfile(f, io.BytesIO(data))
`,
        format,
      );
      const target = join(root, "target");
      await extract(createReadStream(archive), target);
      await expectOldTimes(target, false);
    });
  }

  test("a time older than a Date can hold (base-256, Python tarfile) is clamped as for GNU tar, not refused", async () => {
    const archive = join(root, "a.tar.gz");
    pythonTarGz(
      archive,
      `    f = tarfile.TarInfo("ancient.txt"); f.size = 0; f.mtime = -10**14
    tar.addfile(f)
`,
    );
    const target = join(root, "target");
    await extract(createReadStream(archive), target);
    const byGnu = join(root, "by-gnu");
    mkdirSync(byGnu);
    gnuTar(["-xzf", archive, "-C", byGnu]);
    expect(mtimeOf(join(target, "ancient.txt"))).toBeLessThan(OLD + 86_400);
    expect(mtimeOf(join(target, "ancient.txt"))).toBe(mtimeOf(join(byGnu, "ancient.txt")));
  });

  test("Go archive/tar", async () => {
    const archive = join(root, "a.tar.gz");
    goTarGz(
      archive,
      `	tw.WriteHeader(&tar.Header{Name: "old-dir/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(${OLD}, 0)})
	data := []byte("one small step\\n")
	tw.WriteHeader(&tar.Header{Name: "old-dir/moon.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(${MOON}, 0)})
	tw.Write(data)`,
    );
    const target = join(root, "target");
    await extract(createReadStream(archive), target);
    await expectOldTimes(target, false);
  });

  test("Strongbox's own pack: stored so GNU tar reads them back, and restored", async () => {
    const source = join(root, "source");
    await writeOldTree(source);
    const archive = join(root, "own.tar.gz");
    await packToFile(source, archive);
    const listing = gnuTar(["-tvzf", archive, "--full-time", "--utc"]).stdout.toString();
    expect(listing).toMatch(/ 1969-07-20 20:17:40 old-dir\/moon\.txt$/m);
    expect(listing).toMatch(/ 1901-12-14 00:00:00 old-dir\/?$/m);
    const byGnu = join(root, "by-gnu");
    mkdirSync(byGnu);
    gnuTar(["-xzf", archive, "-C", byGnu]);
    await expectOldTimes(byGnu);
    const target = join(root, "target");
    await extract(createReadStream(archive), target, { mode: "truncate" });
    await expectOldTimes(target);
  });
});
