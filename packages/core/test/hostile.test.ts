import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { lstat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type ExtractOptions, type ExtractResult, extract, type RestoreMode } from "../src/index.js";
import { type CraftEntry, craftTar, craftTarGz } from "./helpers/craft-tar.js";
import { chunked, snapshotTree } from "./helpers/extract-tree.js";

let root: string;
let target: string;
let sentinel: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "strongbox-hostile-"));
  sentinel = join(root, "sentinel");
  mkdirSync(join(sentinel, "sub"), { recursive: true });
  writeFileSync(join(sentinel, "a.txt"), "sentinel a");
  writeFileSync(join(sentinel, "sub", "b.txt"), "sentinel b");
  chmodSync(join(sentinel, "a.txt"), 0o640);
  chmodSync(join(sentinel, "sub"), 0o750);
  utimesSync(join(sentinel, "sub"), 1_000_000_000, 1_000_000_000);
  utimesSync(join(sentinel, "a.txt"), 1_000_000_000, 1_000_000_000);
  // A sibling whose name starts like the target's, for prefix-confusion attacks.
  mkdirSync(join(root, "target-evil"));
  target = join(root, "target");
  mkdirSync(join(target, "olddir"), { recursive: true });
  writeFileSync(join(target, "old.txt"), "old contents");
  writeFileSync(join(target, "olddir", "inner.txt"), "old inner");
  symlinkSync("old.txt", join(target, "oldlink"));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Everything beside the target: the sentinel, the sibling, the temp root's own entries. */
function outsideTarget() {
  return snapshotTree(root, (path) => path === "target" || path.startsWith("target/"));
}

/** Extracts an archive crafted from `entries` into the target. */
function extractEntries(entries: CraftEntry[]): Promise<ExtractResult> {
  return extract(chunked(craftTarGz(entries)), target);
}

async function expectRefused(archive: Uint8Array, code: string, options: ExtractOptions = {}): Promise<void> {
  const outside = outsideTarget();
  const inside = snapshotTree(target);
  await expect(extract(chunked(archive), target, options)).rejects.toMatchObject({ code });
  expect(outsideTarget()).toEqual(outside);
  // Refused before the swap: the previous contents are exactly intact, no staging folder left behind.
  expect(snapshotTree(target)).toEqual(inside);
}

/** Entries that try to reach outside the target; functions, since the sentinel exists only per test. */
const escapes: Record<string, () => CraftEntry[]> = {
  "a .. path": () => [{ path: "../escaped.txt", content: "pwned" }],
  "a .. path that only leaves after a real folder": () => [
    { path: "ok/", type: "directory" },
    { path: "ok/../../sentinel/a.txt", content: "pwned" },
  ],
  "an absolute path that goes up once its / is removed": () => [
    { path: `/..${join(sentinel, "a.txt")}`, content: "pwned" },
  ],
  "a sibling-prefix path (../target-evil/)": () => [{ path: "../target-evil/x.txt", content: "pwned" }],
  "a write through a symlink from the archive": () => [
    { path: "link", type: "symlink", linkTarget: sentinel },
    { path: "link/pwned.txt", content: "pwned" },
  ],
  "an overwrite through a relative symlink": () => [
    { path: "link", type: "symlink", linkTarget: "../sentinel" },
    { path: "link/sub/b.txt", content: "pwned" },
  ],
  "a directory replaced by a symlink": () => [
    { path: "d", type: "directory" },
    { path: "d/a.txt", content: "fine" },
    { path: "d", type: "symlink", linkTarget: "../sentinel" },
    { path: "d/b.txt", content: "pwned" },
  ],
  "a directory entry after a symlink of the same name (mode/mtime attack)": () => [
    { path: "s", type: "symlink", linkTarget: "../sentinel/sub" },
    { path: "s/", type: "directory", mode: 0o777, mtime: 0 },
  ],
  "a symlink chain that escapes only when the kernel resolves it": () => [
    { path: "x/", type: "directory" },
    { path: "x/l1", type: "symlink", linkTarget: "." },
    { path: "x/l2", type: "symlink", linkTarget: "l1/../.." },
    { path: "x/l2/sentinel/", type: "directory", mode: 0o777, mtime: 0 },
    { path: "x/l2/sentinel/a.txt", content: "pwned" },
  ],
  "a hard link out of the tree": () => [{ path: "h", type: "hardlink", linkTarget: "../sentinel/a.txt" }],
  "an absolute hard link": () => [{ path: "h", type: "hardlink", linkTarget: join(sentinel, "a.txt") }],
  "a hard link through a symlink": () => [
    { path: "s", type: "symlink", linkTarget: sentinel },
    { path: "h", type: "hardlink", linkTarget: "s/a.txt" },
  ],
  "a write through a hard link to a symlink": () => [
    { path: "s", type: "symlink", linkTarget: sentinel },
    { path: "h", type: "hardlink", linkTarget: "s" },
    { path: "h/a.txt", content: "pwned" },
  ],
  "a hard link to a file not extracted yet": () => [
    { path: "h", type: "hardlink", linkTarget: "later.txt" },
    { path: "later.txt", content: "later" },
  ],
  "a character device": () => [{ path: "null", type: "char" }],
  "a block device": () => [{ path: "disk", type: "block" }],
  "a fifo": () => [{ path: "pipe", type: "fifo" }],
  "a NUL byte in a pax path": () => [{ path: "x.txt", pax: { path: "a\0/../../b" }, content: "x" }],
  "an empty name": () => [{ path: "", content: "x" }],
  "a symlink named as the target itself": () => [{ path: ".", type: "symlink", linkTarget: sentinel }],
  "a GNU long name that goes up": () => [
    { path: `${"../".repeat(40)}escaped.txt`, gnuLongNames: true, content: "x" },
  ],
};

describe.each<RestoreMode>(["merge", "truncate"])("%s: refused with UNSAFE_ARCHIVE_ENTRY", (mode) => {
  for (const [name, entries] of Object.entries(escapes)) {
    test(name, async () => {
      // A harmless entry first, so a refusal has something staged to throw away.
      const archive = craftTarGz([{ path: "harmless.txt", content: "fine" }, ...entries()]);
      await expectRefused(archive, "UNSAFE_ARCHIVE_ENTRY", {
        mode,
      });
    });
  }

  test("a symlink planted in the target where the archive wants a directory", async () => {
    symlinkSync(sentinel, join(target, "planted"));
    const archive = craftTarGz([
      { path: "planted/", type: "directory", mode: 0o777 },
      { path: "planted/pwned.txt", content: "pwned" },
    ]);
    if (mode === "merge") return expectRefused(archive, "UNSAFE_ARCHIVE_ENTRY", { mode });
    // Truncate replaces the link itself: nothing is written through it.
    const outside = outsideTarget();
    await extract(chunked(archive), target, { mode });
    expect(outsideTarget()).toEqual(outside);
    expect((await lstat(join(target, "planted"))).isDirectory()).toBe(true);
    expect(readdirSync(target).sort()).toEqual(["planted"]);
  });

  test("a symlink planted deeper in the target", async () => {
    symlinkSync(join(sentinel, "sub"), join(target, "olddir", "cfg"));
    const archive = craftTarGz([{ path: "olddir/cfg/b.txt", content: "pwned" }]);
    if (mode === "merge") return expectRefused(archive, "UNSAFE_ARCHIVE_ENTRY", { mode });
    const outside = outsideTarget();
    await extract(chunked(archive), target, { mode });
    expect(outsideTarget()).toEqual(outside);
    expect(snapshotTree(target)["olddir/cfg"]?.type).toBe("directory");
  });

  test("a symlink planted where a selected path is restored", async () => {
    symlinkSync(sentinel, join(target, "planted"));
    const archive = craftTarGz([
      { path: "planted/", type: "directory" },
      { path: "planted/sub/b.txt", content: "pwned" },
    ]);
    // Both modes would reach "planted/sub" through the planted link; truncate replaces only what is selected.
    await expectRefused(archive, "UNSAFE_ARCHIVE_ENTRY", { mode, only: ["planted/sub"] });
  });
});

describe.each<RestoreMode>(["merge", "truncate"])("%s: corrupt input is INVALID_INPUT", (mode) => {
  const tar = () =>
    craftTar([
      { path: "a.txt", content: "a".repeat(5000) },
      { path: "b.txt", content: "b" },
    ]);

  test("a truncated gzip stream", async () => {
    const gz = gzipSync(tar());
    await expectRefused(gz.subarray(0, gz.length - 20), "INVALID_INPUT", { mode });
  });

  test("a bad gzip CRC", async () => {
    const gz = Buffer.from(gzipSync(tar()));
    gz[gz.length - 8] = (gz[gz.length - 8] ?? 0) ^ 0xff;
    await expectRefused(gz, "INVALID_INPUT", { mode });
  });

  test("garbage after the gzip stream", async () => {
    await expectRefused(Buffer.concat([gzipSync(tar()), Buffer.from("not gzip")]), "INVALID_INPUT", { mode });
  });

  test("a bad tar header checksum", async () => {
    await expectRefused(craftTarGz([{ path: "a.txt", content: "a", badChecksum: true }]), "INVALID_INPUT", {
      mode,
    });
  });

  test("a negative size (base-256)", async () => {
    await expectRefused(
      craftTarGz([
        { path: "a.txt", content: "", size: -1, base256Size: true },
        { path: "b.txt", content: "b" },
      ]),
      "INVALID_INPUT",
      { mode },
    );
  });

  test("a tar stream cut in the middle of an entry", async () => {
    await expectRefused(gzipSync(tar().subarray(0, 2048)), "INVALID_INPUT", { mode });
  });

  test("a tar stream without its end-of-archive marker", async () => {
    await expectRefused(craftTarGz([{ path: "a.txt", content: "a" }], { end: false }), "INVALID_INPUT", {
      mode,
    });
  });

  test("bytes that are not gzip at all", async () => {
    await expectRefused(tar(), "INVALID_INPUT", { mode });
  });

  test("a checksum mismatch is CHECKSUM_MISMATCH", async () => {
    await expectRefused(gzipSync(tar()), "CHECKSUM_MISMATCH", {
      mode,
      expectedChecksum: `sha256:${"0".repeat(64)}`,
    });
  });
});

describe("limits stop archive bombs", () => {
  test("a gzip bomb is refused at its header, before anything is written", async () => {
    // A 1 TiB file of zeros as an endless run of gzip members, about 1 KiB each per MiB inflated.
    const zerosMember = gzipSync(new Uint8Array(1024 * 1024));
    let consumed = 0;
    function* bomb() {
      const header = craftTar([{ path: "zeros.bin", size: 1024 ** 4 }], { end: false });
      for (let member = gzipSync(header); ; member = zerosMember) {
        consumed += member.length;
        yield member;
      }
    }
    const outside = outsideTarget();
    const inside = snapshotTree(target);
    const failure = extract(Readable.from(bomb()), target, {
      mode: "truncate",
      limits: { maxBytes: 1024 * 1024 },
    });
    await expect(failure).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { limit: "maxBytes", max: 1024 * 1024 },
    });
    // The source never ends: settling at all shows it was abandoned early, within the in-flight window.
    expect(consumed).toBeLessThan(8 * 1024 * 1024);
    expect(outsideTarget()).toEqual(outside);
    expect(snapshotTree(target)).toEqual(inside);
  });

  test("a 10 MB file of zeros with a 1 MB limit", async () => {
    const bomb = craftTarGz([{ path: "zeros.bin", content: new Uint8Array(10 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(100 * 1024);
    await expectRefused(bomb, "INVALID_INPUT", { limits: { maxBytes: 1024 * 1024 } });
  });

  test("the byte limit counts every entry", async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({
      path: `f${i}`,
      content: new Uint8Array(100 * 1024),
    }));
    await expectRefused(craftTarGz(entries), "INVALID_INPUT", { limits: { maxBytes: 1024 * 1024 } });
  });

  test("maxEntries", async () => {
    const entries = Array.from({ length: 11 }, (_, i) => ({ path: `e${i}` }));
    await expectRefused(craftTarGz(entries), "INVALID_INPUT", {
      mode: "truncate",
      limits: { maxEntries: 10 },
    });
  });

  test("maxDepth", async () => {
    const archive = craftTarGz([{ path: `${"d/".repeat(9)}deep.txt`, content: "deep" }]);
    await expectRefused(archive, "INVALID_INPUT", { limits: { maxDepth: 9 } });
    await extract(chunked(archive), target, { limits: { maxDepth: 10 } });
    expect(snapshotTree(target)[`${"d/".repeat(9)}deep.txt`]?.type).toBe("file");
  });

  test("an implausibly large pax header", async () => {
    await expectRefused(
      craftTarGz([{ path: "a", pax: { comment: "x".repeat(2 * 1024 * 1024) } }]),
      "INVALID_INPUT",
    );
  });
});

describe("what hostile archives may still do, safely", () => {
  test("file modes are restored exactly whatever the umask takes away, beside a dir named like a probe", async () => {
    const previous = process.umask(0o027);
    try {
      await extractEntries([
        { path: ".umask-probe/", type: "directory", mode: 0o755 },
        { path: "shared.txt", content: "x", mode: 0o666 },
        { path: "group.sh", content: "x", mode: 0o775 },
        { path: "private", content: "x", mode: 0o600 },
      ]);
    } finally {
      process.umask(previous);
    }
    const tree = snapshotTree(target);
    expect([tree["shared.txt"]?.mode, tree["group.sh"]?.mode, tree.private?.mode]).toEqual([
      0o666, 0o775, 0o600,
    ]);
    expect(tree[".umask-probe"]?.mode).toBe(0o755);
    expect(Object.keys(tree).some((path) => path.includes("umask") && path !== ".umask-probe")).toBe(false);
  });

  test("setuid and setgid bits are dropped, the sticky bit kept", async () => {
    await extractEntries([
      { path: "suid", content: "#!/bin/sh\n", mode: 0o4755 },
      { path: "sgid-dir/", type: "directory", mode: 0o2775 },
      { path: "sticky/", type: "directory", mode: 0o1777 },
    ]);
    const tree = snapshotTree(target);
    expect(tree.suid?.mode).toBe(0o755);
    expect(tree["sgid-dir"]?.mode).toBe(0o775);
    expect(tree.sticky?.mode).toBe(0o1777);
  });

  test("a symlink pointing outside is restored as data and nothing is written through it", async () => {
    const outside = outsideTarget();
    await extract(
      chunked(
        craftTarGz([
          { path: "out", type: "symlink", linkTarget: sentinel },
          { path: "in.txt", content: "in" },
        ]),
      ),
      target,
      { mode: "truncate" },
    );
    expect(readlinkSync(join(target, "out"))).toBe(sentinel);
    expect(outsideTarget()).toEqual(outside);
  });

  test("absolute names are extracted inside the target, their / removed, with one warning", async () => {
    const outside = outsideTarget();
    const warnings: string[] = [];
    const inside = join(sentinel, "a.txt").slice(1);
    await extract(
      chunked(
        craftTarGz([
          { path: join(sentinel, "a.txt"), content: "inside" },
          { path: `//${join(sentinel, "sub", "b.txt")}`, content: "inside too" },
          { path: "h", type: "hardlink", linkTarget: join(sentinel, "a.txt") },
        ]),
      ),
      target,
      { mode: "truncate", onWarning: (w) => warnings.push(`${w.code}:${w.path}`) },
    );
    expect(outsideTarget()).toEqual(outside);
    expect(readFileSync(join(target, inside), "utf8")).toBe("inside");
    expect(readFileSync(join(target, sentinel.slice(1), "sub", "b.txt"), "utf8")).toBe("inside too");
    expect(snapshotTree(target).h).toMatchObject({ type: "file", links: 2 });
    expect(warnings).toEqual([`LEADING_SLASH_REMOVED:${inside}`]);
  });

  test("a hard link to a symlink is a second name for the link, and nothing is written through it", async () => {
    const outside = outsideTarget();
    await extractEntries([
      { path: "s", type: "symlink", linkTarget: join(sentinel, "a.txt") },
      { path: "h", type: "hardlink", linkTarget: "s" },
      { path: "h2", type: "hardlink", linkTarget: "h" },
    ]);
    expect(outsideTarget()).toEqual(outside);
    const [s, h, h2] = await Promise.all(["s", "h", "h2"].map((name) => lstat(join(target, name))));
    expect([s?.isSymbolicLink(), h?.isSymbolicLink(), h2?.isSymbolicLink()]).toEqual([true, true, true]);
    expect([h?.ino, h2?.ino]).toEqual([s?.ino, s?.ino]);
    expect(readlinkSync(join(target, "h"))).toBe(join(sentinel, "a.txt"));
  });

  test("merge replaces a planted symlink by the archive's file, without following it", async () => {
    symlinkSync(join(sentinel, "a.txt"), join(target, "planted"));
    const outside = outsideTarget();
    await extractEntries([{ path: "planted", content: "from archive" }]);
    expect(outsideTarget()).toEqual(outside);
    expect(snapshotTree(target).planted).toMatchObject({ type: "file" });
  });

  test("a planted symlink named like a leftover staging folder is removed as a link", async () => {
    symlinkSync(sentinel, join(target, ".strongbox-staging-planted"));
    const outside = outsideTarget();
    await extractEntries([{ path: "a.txt", content: "a" }]);
    expect(outsideTarget()).toEqual(outside);
    expect(readdirSync(target).sort()).toEqual(["a.txt", "old.txt", "olddir", "oldlink"]);
  });

  test("entries using the staging folder's reserved names are skipped with a warning", async () => {
    const warnings: string[] = [];
    await extract(
      chunked(
        craftTarGz([
          { path: ".strongbox-aside-x/a.txt", content: "a" },
          { path: "b.txt", content: "b" },
        ]),
      ),
      target,
      { mode: "truncate", onWarning: (w) => warnings.push(`${w.code}:${w.path}`) },
    );
    expect(readdirSync(target)).toEqual(["b.txt"]);
    expect(warnings).toEqual(["INVALID_NAME:.strongbox-aside-x/a.txt"]);
  });
});
