import { randomBytes } from "node:crypto";
import { chmodSync, linkSync, lutimesSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Relative path of a file deep enough that the whole path passes 255 bytes (segments of 64). */
export const LONG_PATH = Array.from({ length: 6 }, (_, i) => `seg${i}-${"x".repeat(59)}`).join("/");

/**
 * Writes a tree that exercises what archives must carry: unicode and spaces, names of 100, 101 and 255
 * bytes, a path past 255 bytes, deep nesting, empty folders, symlinks (relative, absolute, dangling, to a
 * folder), a hard link, exec bits, a read-only folder, binary data, and distinct mtimes everywhere.
 */
export function writeFixtureTree(root: string): void {
  const files: Record<string, string | Uint8Array> = {
    "plain.txt": "hello\n",
    "with space/file name.txt": "spaces\n",
    "unicode/héllo wörld ✓.txt": "unicode\n",
    "日本語/ファイル.txt": "japanese\n",
    [`names/${"n".repeat(100)}`]: "100",
    [`names/${"m".repeat(101)}`]: "101",
    [`names/${"l".repeat(255)}`]: "255",
    [`${LONG_PATH}/leaf.txt`]: "long path",
    [`${Array.from({ length: 30 }, (_, i) => `d${i}`).join("/")}/leaf.txt`]: "deep",
    "bin/run.sh": "#!/bin/sh\necho hi\n",
    "ro/file.txt": "read only",
    "hard/a.txt": "shared by two names",
    "data/random.bin": randomBytes(200 * 1024),
  };
  let time = 1_500_000_000;
  const dirs = new Set<string>(["empty-dir", "nested/empty", "links"]);
  for (const path of Object.keys(files)) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  for (const dir of dirs) mkdirSync(join(root, dir), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    writeFileSync(join(root, path), content);
    utimesSync(join(root, path), time, time++);
  }
  chmodSync(join(root, "bin/run.sh"), 0o755);
  chmodSync(join(root, "ro/file.txt"), 0o444);
  linkSync(join(root, "hard/a.txt"), join(root, "hard/b.txt"));
  symlinkSync("../plain.txt", join(root, "links/rel"));
  symlinkSync("/etc/hostname", join(root, "links/abs"));
  symlinkSync("nope/missing", join(root, "links/dangling"));
  symlinkSync("../unicode", join(root, "links/dir"));
  for (const link of ["rel", "abs", "dangling", "dir"]) lutimesSync(join(root, "links", link), time, time++);
  // Folder metadata last, deepest first, as adding entries bumps a folder's mtime.
  for (const dir of [...dirs].sort((a, b) => b.split("/").length - a.split("/").length)) {
    utimesSync(join(root, dir), time, time++);
  }
  chmodSync(join(root, "ro"), 0o555);
  chmodSync(join(root, "empty-dir"), 0o700);
}
