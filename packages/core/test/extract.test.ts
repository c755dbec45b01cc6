import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type ExtractResult, extract, isStrongboxError, type Progress } from "../src/index.js";
import { type CraftEntry, craftTar, craftTarGz } from "./helpers/craft-tar.js";
import { LONG_PATH, writeFixtureTree } from "./helpers/extract-fixture.js";
import { chunked, snapshotTree } from "./helpers/extract-tree.js";

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "strongbox-extract-"));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function gnuTar(args: string[]): void {
  execFileSync("tar", args, { stdio: "pipe" });
}

function fresh(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}

function checksumOf(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

describe("round trips with archives made by GNU tar", () => {
  for (const format of ["pax", "gnu"]) {
    test(`--format=${format}: the same tree as the source and as tar -xzf`, async () => {
      const source = fresh("source");
      writeFixtureTree(source);
      const archive = join(root, "archive.tar.gz");
      gnuTar([`--format=${format}`, "-czf", archive, "-C", source, "."]);
      const byGnu = fresh("by-gnu");
      gnuTar(["-xzf", archive, "-C", byGnu]);
      const ours = join(root, "ours");

      const result = await extract(createReadStream(archive), ours, { mode: "truncate" });

      const tree = snapshotTree(ours);
      expect(tree).toEqual(snapshotTree(byGnu));
      expect(tree).toEqual(snapshotTree(source));
      expect(tree[`names/${"l".repeat(255)}`]?.type).toBe("file");
      expect(tree[`${LONG_PATH}/leaf.txt`]?.type).toBe("file");
      expect(tree["hard/b.txt"]?.links).toBe(2);
      expect(tree["links/abs"]).toMatchObject({ type: "symlink", linkTarget: "/etc/hostname" });
      expect(result.checksum).toBe(checksumOf(readFileSync(archive)));
      expect(result).toMatchObject({ files: 14, symlinks: 4, bytes: 200 * 1024 + 98 });
    });
  }

  test("--format=ustar with a path split into prefix and name, and no ./ prefix", async () => {
    const source = fresh("source");
    const dir = `${"p".repeat(60)}/${"q".repeat(60)}`;
    mkdirSync(join(source, dir), { recursive: true });
    writeFileSync(join(source, dir, "file.txt"), "in prefix");
    const archive = join(root, "ustar.tar.gz");
    gnuTar(["--format=ustar", "-czf", archive, "-C", source, "p".repeat(60)]);
    const ours = join(root, "ours");
    await extract(createReadStream(archive), ours);
    expect(readFileSync(join(ours, dir, "file.txt"), "utf8")).toBe("in prefix");
  });

  test("an archive made of several gzip members", async () => {
    const tar = craftTar([
      { path: "a.txt", content: "a".repeat(3000) },
      { path: "b.txt", content: "b" },
    ]);
    const archive = Buffer.concat([gzipSync(tar.subarray(0, 1000)), gzipSync(tar.subarray(1000))]);
    const target = join(root, "t");
    await extract(chunked(archive, 100), target);
    expect(readFileSync(join(target, "a.txt"), "utf8")).toBe("a".repeat(3000));
    expect(readFileSync(join(target, "b.txt"), "utf8")).toBe("b");
  });

  test("pax sizes, fractional mtimes, global headers and base-256 sizes", async () => {
    const target = join(root, "t");
    await extract(
      chunked(
        craftTarGz(
          [
            {
              path: "pax.txt",
              content: "sized by pax",
              size: 0,
              pax: { size: "12", mtime: "1234567890.75" },
            },
            { path: "b256.txt", content: "base 256", base256Size: true },
          ],
          { globalPax: { comment: "global" } },
        ),
      ),
      target,
    );
    expect(readFileSync(join(target, "pax.txt"), "utf8")).toBe("sized by pax");
    expect(readFileSync(join(target, "b256.txt"), "utf8")).toBe("base 256");
    expect(snapshotTree(target)["pax.txt"]?.mtime).toBe(1234567890);
  });
});

/** 9 MiB of random-looking bytes: an archive of them is larger than the extract worker's 4 MiB input ring. */
function ringNoise(): Buffer {
  const noise = Buffer.alloc(9 * 1024 * 1024);
  for (let i = 0; i < noise.length; i += 64) createHash("sha512").update(String(i)).digest().copy(noise, i);
  return noise;
}

/**
 * `bytes` as a repository snapshot's tar comes, 512-byte headers and 16 KiB chunks, which extract gathers
 * into few messages; every 37th piece waits for the next turn of the event loop, so what was held back
 * goes when the source pauses.
 */
async function* smallPieces(bytes: Buffer) {
  for (let at = 0, n = 0; at < bytes.length; n++) {
    const size = n % 3 === 0 ? 512 : 16_384 + (n % 7);
    yield bytes.subarray(at, at + size);
    at += size;
    if (n % 37 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** `bytes` in chunks of odd sizes, some larger than the input ring, so pieces wrap around its end. */
async function* oddChunks(bytes: Buffer) {
  const sizes = [1, 6 * 1024 * 1024, 7, 3 * 1024 * 1024 + 5, 65_536];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

describe("archive bytes on their way to the extract worker", () => {
  test("chunks larger than the input ring, of odd sizes, and a source that reuses its buffer", async () => {
    const source = fresh("source");
    // Random bytes keep the archive larger than the 4 MiB ring, so pieces wrap around its end.
    writeFileSync(join(source, "noise.bin"), ringNoise());
    writeFileSync(join(source, "text.txt"), "a line of text\n".repeat(5000));
    const archive = join(root, "archive.tar.gz");
    gnuTar(["-czf", archive, "-C", source, "."]);
    const bytes = readFileSync(archive);
    expect(bytes.length).toBeGreaterThan(8 * 1024 * 1024);

    // Each chunk is written into one buffer that the next chunk overwrites, as a pooled reader might do.
    async function* reusedBuffer() {
      const buffer = Buffer.alloc(100_000);
      for (let at = 0; at < bytes.length; at += buffer.length) {
        const length = bytes.copy(buffer, 0, at, at + buffer.length);
        yield buffer.subarray(0, length);
      }
    }
    for (const [name, chunks] of [
      ["odd", oddChunks(bytes)],
      ["reused", reusedBuffer()],
    ] as const) {
      const result = await extract(chunks, join(root, name), { expectedChecksum: checksumOf(bytes) });
      expect(snapshotTree(join(root, name))).toEqual(snapshotTree(source));
      expect(result.checksum).toBe(checksumOf(bytes));
    }
  });
});

describe("plain tar (compression: none)", () => {
  test.each([
    ["in odd chunks wrapping the input ring", oddChunks],
    ["in small pieces, some a turn of the event loop apart", smallPieces],
  ])("GNU tar's plain tar, %s: the same tree, the checksum of the tar", async (_, pieces) => {
    const source = fresh("source");
    writeFixtureTree(source);
    writeFileSync(join(source, "noise.bin"), ringNoise());
    const archive = join(root, "archive.tar");
    gnuTar(["--format=pax", "-cf", archive, "-C", source, "."]);
    const bytes = readFileSync(archive);
    const target = join(root, "ours");
    const result = await extract(pieces(bytes), target, { compression: "none", mode: "truncate" });
    expect(snapshotTree(target)).toEqual(snapshotTree(source));
    expect(result.checksum).toBe(checksumOf(bytes));
  });

  test("a .tar.gz given as a plain tar, or an unknown compression, is INVALID_INPUT and changes nothing", async () => {
    const source = fresh("source");
    writeFileSync(join(source, "a.txt"), "a");
    const archive = join(root, "archive.tar.gz");
    gnuTar(["-czf", archive, "-C", source, "."]);
    const target = fresh("target");
    writeFileSync(join(target, "kept.txt"), "kept");
    const before = snapshotTree(target);
    const bytes = readFileSync(archive);
    async function* whole() {
      yield bytes;
    }
    for (const compression of ["none", "zstd"]) {
      const error = await extract(whole(), target, {
        compression: compression as "none",
        mode: "truncate",
      }).catch((e: unknown) => e);
      expect(isStrongboxError(error, "INVALID_INPUT")).toBe(true);
      expect(snapshotTree(target)).toEqual(before);
    }
  });
});

describe("merge and truncate", () => {
  let target: string;
  const archive = (): Buffer =>
    craftTarGz([
      { path: "keep/", type: "directory", mode: 0o750, mtime: 1_100_000_000 },
      { path: "keep/new.txt", content: "new" },
      { path: "shared.txt", content: "from archive" },
      { path: "was-a-dir", content: "now a file" },
      { path: "was-a-file/inner.txt", content: "now a folder" },
    ]);

  beforeEach(() => {
    target = join(root, "target");
    mkdirSync(join(target, "keep"), { recursive: true });
    mkdirSync(join(target, "was-a-dir/sub"), { recursive: true });
    writeFileSync(join(target, "keep/mine.txt"), "mine");
    writeFileSync(join(target, "shared.txt"), "old");
    writeFileSync(join(target, "was-a-file"), "old file");
    writeFileSync(join(target, "other.txt"), "other");
  });

  test("merge overwrites the archive's entries and keeps the others", async () => {
    await extract(chunked(archive()), target);
    const tree = snapshotTree(target);
    expect(Object.keys(tree).sort()).toEqual([
      "keep",
      "keep/mine.txt",
      "keep/new.txt",
      "other.txt",
      "shared.txt",
      "was-a-dir",
      "was-a-file",
      "was-a-file/inner.txt",
    ]);
    expect(readFileSync(join(target, "shared.txt"), "utf8")).toBe("from archive");
    expect(tree.keep).toMatchObject({ mode: 0o750, mtime: 1_100_000_000 });
  });

  test("truncate leaves exactly the archive's contents", async () => {
    const result = await extract(chunked(archive()), target, { mode: "truncate" });
    expect(Object.keys(snapshotTree(target)).sort()).toEqual([
      "keep",
      "keep/new.txt",
      "shared.txt",
      "was-a-dir",
      "was-a-file",
      "was-a-file/inner.txt",
    ]);
    expect(result).toMatchObject({ files: 4, directories: 1, symlinks: 0, bytes: 37 });
  });

  test("only, with merge: just those paths are written", async () => {
    await extract(chunked(archive()), target, { only: ["keep", "was-a-file/inner.txt"] });
    const tree = snapshotTree(target);
    expect(readFileSync(join(target, "shared.txt"), "utf8")).toBe("old");
    expect(tree["keep/new.txt"]?.type).toBe("file");
    expect(tree["keep/mine.txt"]?.type).toBe("file");
    expect(tree["was-a-file/inner.txt"]?.type).toBe("file");
    expect(tree["was-a-dir/sub"]?.type).toBe("directory");
  });

  test("only, with truncate: each selected path is replaced whole, the rest kept", async () => {
    await extract(chunked(archive()), target, { mode: "truncate", only: ["./keep/"] });
    const tree = snapshotTree(target);
    expect(Object.keys(tree).filter((p) => p.startsWith("keep"))).toEqual(["keep", "keep/new.txt"]);
    expect(readFileSync(join(target, "shared.txt"), "utf8")).toBe("old");
    expect(tree["other.txt"]?.type).toBe("file");
  });

  test("only naming a path the archive lacks is NOT_FOUND and changes nothing", async () => {
    const before = snapshotTree(target);
    await expect(extract(chunked(archive()), target, { only: ["keep", "missing"] })).rejects.toMatchObject({
      code: "NOT_FOUND",
      details: { paths: ["missing"] },
    });
    expect(snapshotTree(target)).toEqual(before);
  });

  test("only with a path that leaves the target is INVALID_INPUT", async () => {
    await expect(extract(chunked(archive()), target, { only: ["../x"] })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });

  test("a staging folder left by a crash is removed; results never show work folders", async () => {
    mkdirSync(join(target, ".strongbox-staging-0123456789abcdef/inner"), { recursive: true });
    mkdirSync(join(target, ".strongbox-aside-0123456789abcdef"));
    await extract(chunked(archive()), target, { mode: "truncate" });
    expect(readdirSync(target).filter((n) => n.startsWith(".strongbox"))).toEqual([]);
  });
});

describe("targets, checksums, progress and cancellation", () => {
  const entries: CraftEntry[] = [
    { path: "a.txt", content: "a".repeat(100_000) },
    { path: "b.txt", content: "b" },
  ];

  test("creates a missing target, but not its parents", async () => {
    await extract(chunked(craftTarGz(entries)), join(root, "new"));
    expect(readdirSync(join(root, "new")).sort()).toEqual(["a.txt", "b.txt"]);
    await expect(extract(chunked(craftTarGz(entries)), join(root, "no/such/dir"))).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  test("a target that is a file is INVALID_INPUT", async () => {
    writeFileSync(join(root, "file"), "x");
    await expect(extract(chunked(craftTarGz(entries)), join(root, "file"))).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });

  test("a target created for a refused archive is removed again", async () => {
    await expect(
      extract(chunked(craftTarGz([{ path: "../x", content: "x" }])), join(root, "new")),
    ).rejects.toMatchObject({ code: "UNSAFE_ARCHIVE_ENTRY" });
    expect(readdirSync(root)).toEqual([]);
  });

  test("a target reached through a symlink is extracted into its real folder", async () => {
    mkdirSync(join(root, "real"));
    symlinkSync(join(root, "real"), join(root, "alias"));
    await extract(chunked(craftTarGz(entries)), join(root, "alias"));
    expect(readdirSync(join(root, "real")).sort()).toEqual(["a.txt", "b.txt"]);
  });

  test("a matching expected checksum restores, and the result carries it", async () => {
    const bytes = craftTarGz(entries);
    const result = await extract(chunked(bytes), join(root, "t"), { expectedChecksum: checksumOf(bytes) });
    expect(result.checksum).toBe(checksumOf(bytes));
  });

  test("checksum: false: a plain tar made by GNU tar extracts as tar -xf does, without a checksum", async () => {
    const source = fresh("source");
    writeFixtureTree(source);
    const archive = join(root, "archive.tar");
    gnuTar(["--format=pax", "-cf", archive, "-C", source, "."]);
    const byGnu = fresh("by-gnu");
    gnuTar(["-xf", archive, "-C", byGnu]);
    const hashed = await extract(createReadStream(archive), join(root, "hashed"), { compression: "none" });
    const skipped = await extract(createReadStream(archive), join(root, "skipped"), {
      compression: "none",
      checksum: false,
    });
    expect(hashed.checksum).toBe(checksumOf(readFileSync(archive)));
    expect(skipped).not.toHaveProperty("checksum");
    const { checksum: _, ...counts } = hashed;
    expect(skipped).toEqual(counts);
    expect(snapshotTree(join(root, "skipped"))).toEqual(snapshotTree(byGnu));
  });

  test("checksum: false with an expected checksum is INVALID_INPUT, before anything is made", async () => {
    const bytes = craftTarGz(entries);
    const target = join(root, "t");
    await expect(
      extract(chunked(bytes), target, { checksum: false, expectedChecksum: checksumOf(bytes) }),
    ).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringContaining("give one option or the other"),
    });
    expect(existsSync(target)).toBe(false);
  });

  test("a malformed expected checksum or mode is INVALID_INPUT", async () => {
    const target = join(root, "t");
    await expect(
      extract(chunked(craftTarGz(entries)), target, { expectedChecksum: "md5:x" }),
    ).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(
      extract(chunked(craftTarGz(entries)), target, { mode: "wipe" as "merge" }),
    ).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(
      extract(chunked(craftTarGz(entries)), target, { limits: { maxBytes: -1 } }),
    ).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });

  test("progress reports archive bytes and files, ending at the archive's size", async () => {
    const bytes = craftTarGz(entries);
    const reports: Progress[] = [];
    await extract(chunked(bytes), join(root, "t"), {
      totalBytes: bytes.length,
      onProgress: (p) => reports.push(p),
    });
    expect(reports.at(-1)).toEqual({ bytes: bytes.length, files: 2, totalBytes: bytes.length });
  });

  test("an abort before the start rejects with ABORTED and creates nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      extract(chunked(craftTarGz(entries)), join(root, "t"), { signal: controller.signal }),
    ).rejects.toMatchObject({ code: "ABORTED" });
    expect(readdirSync(root)).toEqual([]);
  });

  test("an abort mid-stream rejects with ABORTED and leaves the target as it was", async () => {
    const target = fresh("t");
    writeFileSync(join(target, "old.txt"), "old");
    const before = snapshotTree(target);
    const controller = new AbortController();
    const bytes = craftTarGz(entries);
    async function* abortingAfterFirstChunk() {
      yield bytes.subarray(0, 100);
      controller.abort();
      // The rest would make the archive whole; the extract must not get that far.
      yield bytes.subarray(100);
    }
    await expect(
      extract(abortingAfterFirstChunk(), target, { mode: "truncate", signal: controller.signal }),
    ).rejects.toMatchObject({ code: "ABORTED" });
    expect(snapshotTree(target)).toEqual(before);
    expect(readdirSync(target)).toEqual(["old.txt"]);
  });

  test("a failing source rejects with its error and leaves the target as it was", async () => {
    const target = fresh("t");
    writeFileSync(join(target, "old.txt"), "old");
    const bytes = craftTarGz(entries);
    async function* failing() {
      yield bytes.subarray(0, 100);
      throw new Error("network down");
    }
    const failure = await extract(failing(), target, { mode: "truncate" }).then(
      (result: ExtractResult) => result,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(isStrongboxError(failure)).toBe(false);
    expect((failure as Error).message).toBe("network down");
    expect(readdirSync(target)).toEqual(["old.txt"]);
  });
});
