import { createHash, randomBytes } from "node:crypto";
import { link, lutimes, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { pack } from "../src/archive/pack/pack.js";
import { packToFile } from "../src/archive/pack/pack-file.js";
import type { ArchiveWarning } from "../src/archive/types.js";
import { isStrongboxError } from "../src/errors.js";
import { run, sha256sum, snapshotTree, tarExtract, tarList, useTempDirs } from "./helpers/tree.js";

const tempDir = useTempDirs();

/** 2001-02-03T04:05:06Z: far from "now", so a lost mtime shows. */
const BASE_MTIME = 981_173_106;

const NAME_100 = `${"n".repeat(96)}.txt`;
const NAME_101 = `${"o".repeat(97)}.txt`;
const NAME_255 = `${"x".repeat(251)}.txt`;
const LONG_DIR = "L".repeat(150);
const SPLIT_PATH = `${"p".repeat(120)}/${"q".repeat(90)}`;
const DEEP_DIR = Array.from({ length: 40 }, (_, i) => `level-${String(i).padStart(2, "0")}`).join("/");

/** A tree with every kind of entry and name the archive format has to carry. */
async function buildTree(root: string): Promise<void> {
  const files: Array<[string, string | Buffer, number?]> = [
    ["héllo wörld.txt", "unicode and spaces\n"],
    ["日本語/ファイル 1.txt", "日本語の内容\n"],
    ["spaces in dir/a file.txt", "a b c\n"],
    ["emoji-😀.txt", "😀\n"],
    [NAME_100, "100 bytes of name\n"],
    [NAME_101, "101 bytes of name\n"],
    [NAME_255, "255 bytes of name\n"],
    [`${LONG_DIR}/f.txt`, "in a long directory\n"],
    [SPLIT_PATH, "fits ustar prefix + name\n"],
    [`${DEEP_DIR}/deep.txt`, "deep\n"],
    ["run.sh", "#!/bin/sh\necho hi\n", 0o755],
    ["private/secret", "shh\n", 0o600],
    ["blob.bin", Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251))],
    ["hard-a", "hard linked\n"],
  ];
  for (const [path, content, mode] of files) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), content, { mode: mode ?? 0o644 });
  }
  await link(join(root, "hard-a"), join(root, "hard-b"));
  await mkdir(join(root, "empty"));
  await mkdir(join(root, "nested/empty/inner"), { recursive: true });
  await mkdir(join(root, "locked"), { mode: 0o700 });
  await symlink("日本語/ファイル 1.txt", join(root, "link-inside"));
  await symlink("../../outside/target", join(root, "spaces in dir/link-outside"));
  await symlink("/etc/hostname", join(root, "link-absolute"));
  await symlink("t".repeat(150), join(root, "link-long-dangling"));
  await symlink("nested", join(root, "link-to-dir"));
  await setMtimes(root);
}

/** Gives every path its own fixed mtime, children before parents (writing a child touches its parent). */
async function setMtimes(root: string): Promise<void> {
  const paths = Object.keys(await snapshotTree(root, { mtimes: false })).map((p) => p.replace(/\/$/, ""));
  paths.sort((a, b) => b.split("/").length - a.split("/").length);
  let offset = 0;
  for (const path of paths) {
    const seconds = BASE_MTIME + 3600 * offset++;
    await lutimes(join(root, path), seconds, seconds);
  }
}

describe("packToFile round trip through GNU tar", () => {
  test("keeps names, empty dirs, symlinks, modes and mtimes; checksum is sha256sum of the file", async () => {
    const root = await tempDir();
    const out = await tempDir();
    await buildTree(root);
    const archive = join(out, "backup.tar.gz");
    const warnings: ArchiveWarning[] = [];

    const result = await packToFile(root, archive, { onWarning: (w) => warnings.push(w) });

    expect(warnings).toEqual([]);
    expect(result.checksum).toBe(`sha256:${await sha256sum(archive)}`);
    expect(result.bytes).toBe((await stat(archive)).size);
    expect(result).toMatchObject({ files: 15, symlinks: 5, skipped: 0 });
    expect(result.directories).toBe(
      Object.keys(await snapshotTree(root)).filter((p) => p.endsWith("/")).length,
    );

    const listing = await tarList(archive);
    expect(listing.stderr).toBe("");
    const expected = Object.keys(await snapshotTree(root)).sort();
    expect([...listing.names].sort()).toEqual(expected);
    expect(listing.names).toContain("empty/");
    expect(listing.names).toContain(`${DEEP_DIR}/deep.txt`);

    const restored = await tempDir();
    expect(await tarExtract(archive, restored)).toBe("");
    expect(await snapshotTree(restored)).toEqual(await snapshotTree(root));
  });

  test("the same tree gives the same archive, byte for byte", async () => {
    const root = await tempDir();
    await buildTree(root);
    const first = await packToFile(root, join(await tempDir(), "a.tar.gz"));
    const second = await packToFile(root, join(await tempDir(), "b.tar.gz"));
    expect(second.checksum).toBe(first.checksum);
  });

  test("an archive written inside the root leaves itself and its temporary file out", async () => {
    const root = await tempDir();
    await writeFile(join(root, "data.txt"), "data");
    const archive = join(root, "self.tar.gz");
    await packToFile(root, archive);
    await packToFile(root, archive);
    expect((await tarList(archive)).names).toEqual(["data.txt"]);
  });
});

describe("incompressible file contents", () => {
  test("are stored verbatim and text around them deflated, and GNU tar reads it all back", async () => {
    const root = await tempDir();
    const randoms: Buffer[] = [];
    let textBytes = 0;
    for (let i = 0; i < 40; i++) {
      const size = 2000 + i * 397;
      if (i % 2 === 0) {
        const data = randomBytes(size);
        randoms.push(data);
        await writeFile(join(root, `f${String(i).padStart(2, "0")}.bin`), data);
      } else {
        textBytes += size;
        await writeFile(
          join(root, `f${String(i).padStart(2, "0")}.txt`),
          "level=1 world=backup\n".repeat(size / 21),
        );
      }
    }
    // Larger than a tar block, so it is judged block by block.
    const large = randomBytes(1300 * 1024);
    await writeFile(join(root, "large.mca"), large);
    const archive = join(await tempDir(), "mixed.tar.gz");

    await packToFile(root, archive, { level: 1 });

    const gz = await readFile(archive);
    // Deflate would code random bytes bit by bit; stored ones appear as they are.
    for (const data of randoms) expect(gz.includes(data)).toBe(true);
    expect(gz.includes(large.subarray(0, 60_000))).toBe(true);
    const randomTotal = randoms.reduce((n, d) => n + d.length, 0) + large.length;
    expect(gz.length).toBeLessThan(randomTotal + textBytes / 4);
    const restored = await tempDir();
    expect(await tarExtract(archive, restored)).toBe("");
    expect(await snapshotTree(restored)).toEqual(await snapshotTree(root));
  });
});

describe("pack stream", () => {
  test("streams a tar.gz whose bytes match the reported checksum and size", async () => {
    const root = await tempDir();
    await writeFile(join(root, "a.txt"), "a".repeat(10_000));
    const { stream, result } = pack(root, { level: 6 });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const archive = Buffer.concat(chunks);
    const { checksum, bytes, sourceBytes } = await result;
    expect(checksum).toBe(`sha256:${createHash("sha256").update(archive).digest("hex")}`);
    expect(bytes).toBe(archive.length);
    expect(sourceBytes).toBe(10_000);
    expect(archive.length).toBeLessThan(1000);
  });

  test("reports progress up to the final counters", async () => {
    const root = await tempDir();
    await writeFile(join(root, "a.txt"), "x".repeat(3000));
    await mkdir(join(root, "dir"));
    const seen: Array<{ bytes: number; files: number }> = [];
    await packToFile(root, join(await tempDir(), "p.tar.gz"), { onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toEqual({ bytes: 3000, files: 2 });
  });
});

describe("ignore rules", () => {
  test("option rules and the root's .pteroignore both apply; ignored folders are never walked", async () => {
    const root = await tempDir();
    for (const path of [
      "keep.txt",
      "server.log",
      "logs/keep.log",
      "logs/old.log",
      "cache/a/b.txt",
      "sub/cache/c",
    ]) {
      await mkdir(join(root, path, ".."), { recursive: true });
      await writeFile(join(root, path), path);
    }
    await mkdir(join(root, "node_modules/pkg"), { recursive: true });
    await run("mkfifo", [join(root, "node_modules/pkg/fifo")]);
    await writeFile(join(root, ".pteroignore"), "# comment\r\nnode_modules/\r\n*.log\r\n");
    const warnings: ArchiveWarning[] = [];
    const archive = join(await tempDir(), "i.tar.gz");

    await packToFile(root, archive, {
      ignore: ["cache/", "!logs/keep.log"],
      onWarning: (w) => warnings.push(w),
    });

    expect((await tarList(archive)).names).toEqual([
      ".pteroignore",
      "keep.txt",
      "logs/",
      "logs/keep.log",
      "sub/",
    ]);
    expect(warnings).toEqual([]);
  });

  test("a .pteroignore with a byte-order mark, a bad line and a rule in raw bytes applies as git reads it", async () => {
    const root = await tempDir();
    for (const name of ["a.log", "1.dat", "x.dat", "ax", "zx"]) await writeFile(join(root, name), name);
    // caf\xe9.txt: a name that is not UTF-8, named byte for byte by the rule below.
    const raw = Buffer.from("caf\xe9.txt", "latin1");
    await writeFile(Buffer.concat([Buffer.from(`${root}/`), raw]), "raw");
    const rules = Buffer.concat([Buffer.from("\uFEFF*.log\r\n[z-a]x\r\n[[:digit:]].dat\r\n"), raw]);
    await writeFile(join(root, ".pteroignore"), rules);
    const warnings: ArchiveWarning[] = [];
    const archive = join(await tempDir(), "i.tar.gz");

    await packToFile(root, archive, { onWarning: (w) => warnings.push(w) });

    expect((await tarList(archive)).names).toEqual([".pteroignore", "ax", "x.dat"]);
    expect(warnings).toEqual([]);
  });

  test("ignoreFile: false leaves the ignore file's rules out", async () => {
    const root = await tempDir();
    await writeFile(join(root, ".pteroignore"), "*.log\n");
    await writeFile(join(root, "a.log"), "log");
    const archive = join(await tempDir(), "i.tar.gz");
    await packToFile(root, archive, { ignoreFile: false, ignore: "*.txt" });
    expect((await tarList(archive)).names).toEqual([".pteroignore", "a.log"]);
  });
});

describe("bad input", () => {
  test("a missing root is NOT_FOUND, on the stream and the result", async () => {
    const missing = join(await tempDir(), "missing");
    const { stream, result } = pack(missing);
    const streamError = new Promise((resolve) => stream.once("error", resolve));
    stream.resume();
    await expect(result).rejects.toSatisfy((e) => isStrongboxError(e, "NOT_FOUND"));
    expect(isStrongboxError(await streamError, "NOT_FOUND")).toBe(true);
  });

  test("a file, a symlinked root, a bad level or ignore file name are INVALID_INPUT, leaving no file", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "file"), "x");
    await mkdir(join(dir, "real"));
    await symlink("real", join(dir, "link"));
    const archive = join(dir, "out.tar.gz");
    const attempts = [
      () => packToFile(join(dir, "file"), archive),
      () => packToFile(join(dir, "link"), archive),
      () => packToFile(join(dir, "real"), archive, { level: 12 }),
      () => packToFile(join(dir, "real"), archive, { ignoreFile: "../escape" }),
    ];
    for (const attempt of attempts) {
      await expect(attempt()).rejects.toSatisfy((e) => isStrongboxError(e, "INVALID_INPUT"));
    }
    expect((await readdir(dir)).sort()).toEqual(["file", "link", "real"]);
  });
});
