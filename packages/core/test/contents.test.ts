import { execFileSync } from "node:child_process";
import { createReadStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { inflateArchive } from "../src/archive/extract/extract-inflate.js";
import { type ArchiveEntry, type ContentsOptions, contents } from "../src/index.js";
import { craftTar, craftTarGz } from "./helpers/craft-tar.js";
import { writeFixtureTree } from "./helpers/extract-fixture.js";
import { chunked } from "./helpers/extract-tree.js";

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "strongbox-contents-"));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

async function list(bytes: Uint8Array, options?: ContentsOptions): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  for await (const entry of contents(chunked(bytes, 700), options)) entries.push(entry);
  return entries;
}

describe("contents", () => {
  test("lists every kind of entry with its metadata, long names applied", async () => {
    const long = `${"dir-".repeat(40)}/file.txt`;
    const entries = await list(
      craftTarGz([
        { path: "./dir/", type: "directory", mode: 0o750, mtime: 1_000_000_000 },
        { path: "dir/file.txt", content: "hello", mode: 0o4755 },
        { path: "link", type: "symlink", linkTarget: "dir/file.txt" },
        { path: "hard", type: "hardlink", linkTarget: "dir/file.txt" },
        { path: "pipe", type: "fifo" },
        { path: long, gnuLongNames: true, content: "gnu" },
        { path: "short", pax: { path: `pax/${"p".repeat(200)}`, mtime: "1600000000.5" }, content: "pax" },
        { path: `${"u".repeat(120)}/in-prefix.txt`, ustarPrefix: true },
      ]),
    );
    expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
      ["dir", "directory", 0],
      ["dir/file.txt", "file", 5],
      ["link", "symlink", 0],
      ["hard", "hardlink", 0],
      ["pipe", "other", 0],
      [long, "file", 3],
      [`pax/${"p".repeat(200)}`, "file", 3],
      [`${"u".repeat(120)}/in-prefix.txt`, "file", 0],
    ]);
    expect(entries[0]).toMatchObject({ mode: 0o750, mtime: new Date(1_000_000_000_000) });
    expect(entries[1]?.mode).toBe(0o4755);
    expect(entries[2]?.linkTarget).toBe("dir/file.txt");
    expect(entries[6]?.mtime.getTime()).toBe(1_600_000_000_500);
  });

  test("lists hostile names as stored, without refusing them", async () => {
    const entries = await list(
      craftTarGz([
        { path: "../evil", content: "x" },
        { path: "/abs", content: "y" },
      ]),
    );
    expect(entries.map((e) => e.path)).toEqual(["../evil", "/abs"]);
  });

  test("agrees with tar -tzf on an archive made by GNU tar", async () => {
    const source = join(root, "source");
    mkdirSync(source);
    writeFixtureTree(source);
    const archive = join(root, "a.tar.gz");
    execFileSync("tar", ["--format=gnu", "-czf", archive, "-C", source, "."]);
    const byGnu = execFileSync("tar", ["-tzf", archive], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => line.replace(/^\.\//, "").replace(/\/$/, "") || ".");
    const ours: string[] = [];
    for await (const entry of contents(createReadStream(archive))) ours.push(entry.path);
    expect(ours).toEqual(byGnu);
  });

  test("yields entries as they stream, and stopping early is fine", async () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ path: `f${i}`, content: "x".repeat(1000) }));
    const seen: string[] = [];
    for await (const entry of contents(chunked(craftTarGz(many), 512))) {
      seen.push(entry.path);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(["f0", "f1", "f2"]);
  });

  test("a truncated archive rejects with INVALID_INPUT after the entries read", async () => {
    const tar = craftTar([
      { path: "a", content: "a" },
      { path: "b", content: "b".repeat(4000) },
    ]);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const entry of contents(chunked(gzipSync(tar.subarray(0, 2048))))) seen.push(entry.path);
    })();
    await expect(reading).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(seen).toEqual(["a", "b"]);
  });

  test("a bad header checksum and non-gzip bytes are INVALID_INPUT", async () => {
    await expect(list(craftTarGz([{ path: "a", badChecksum: true }]))).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(list(craftTar([{ path: "a" }]))).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  test("an abort rejects with ABORTED", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(list(craftTarGz([{ path: "a" }]), { signal: controller.signal })).rejects.toMatchObject({
      code: "ABORTED",
    });
  });
});

describe("inflating", () => {
  test("zlib holds up to 1 MiB of compressed input, so the feed does not wait on it chunk by chunk", async () => {
    const inflated = inflateArchive(chunked(gzipSync(craftTar([]))));
    expect((inflated as unknown as Writable).writableHighWaterMark).toBe(1024 * 1024);
    for await (const _ of inflated) {
      // drained
    }
  });
});
