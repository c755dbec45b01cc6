import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  createReadStream,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { beforeEach, describe, expect, test } from "vitest";
import { TarParser } from "../src/archive/tar/tar-parse.js";
import { type ArchiveEntry, contents, extract } from "../src/index.js";
import { type CraftEntry, craftTarGz } from "./helpers/craft-tar.js";
import { chunked } from "./helpers/extract-tree.js";
import { bsdTar, gnuTar } from "./helpers/real-tools.js";
import { useTempDirs } from "./helpers/tree.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const tempDir = useTempDirs();
let root: string;

beforeEach(async () => {
  root = await tempDir("strongbox-sparse-");
});

/**
 * Writes a file of `size` bytes holding `runs` of random data at the given offsets and holes elsewhere
 * (starting and ending with a hole), as a database or disk image would.
 */
function writeSparseFile(path: string, size: number, runs: readonly number[]): void {
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, size);
    for (const offset of runs) writeSync(fd, randomBytes(5000), 0, 5000, offset);
  } finally {
    closeSync(fd);
  }
}

/** A source folder holding one sparse file, `name`, written by {@link writeSparseFile}. */
function sparseSource(name: string, size: number, runs: readonly number[]): string {
  const source = join(root, "source");
  mkdirSync(source);
  writeSparseFile(join(source, name), size, runs);
  return source;
}

/** Six data runs (more than an old GNU header's four) in 10 MiB, with holes before, between and after. */
const SIX_RUNS = [1, 2, 3, 4, 5, 6].map((i) => i * MiB + i * 4096);

/** A source folder with a sparse file between two plain entries. */
function writeSource(): string {
  const source = join(root, "source");
  mkdirSync(join(source, "data"), { recursive: true });
  writeFileSync(join(source, "before.txt"), "before\n");
  writeSparseFile(join(source, "data", "disk.img"), 10 * MiB, SIX_RUNS);
  writeFileSync(join(source, "data", "zz-after.txt"), "after\n");
  return source;
}

async function list(archive: string): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  for await (const entry of contents(createReadStream(archive))) entries.push(entry);
  return entries;
}

/** Names and sizes as GNU tar lists them (`tar -tvzf`), which shows real names and real sizes. */
function gnuListing(archive: string): Array<[string, number]> {
  return gnuTar(["-tvzf", archive])
    .stdout.toString()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const fields = line.split(/ +/);
      const name = fields.slice(5).join(" ");
      return [name.replace(/^\.\//, "").replace(/\/$/, "") || ".", Number(fields[2])];
    });
}

function expectSameSparseFile(restored: string, original: string): void {
  const stats = statSync(restored);
  expect(stats.size).toBe(statSync(original).size);
  // Holes stay holes: far fewer blocks than the size.
  expect(stats.blocks * 512).toBeLessThan(stats.size / 4);
  expect(readFileSync(restored).equals(readFileSync(original))).toBe(true);
}

const producers: Record<string, (source: string, archive: string) => void> = {
  "GNU tar --format=gnu --sparse": (source, archive) =>
    gnuTar(["--format=gnu", "--sparse", "-czf", archive, "-C", source, "."]),
  "GNU tar --format=oldgnu --sparse": (source, archive) =>
    gnuTar(["--format=oldgnu", "--sparse", "-czf", archive, "-C", source, "."]),
  "GNU tar --format=pax --sparse-version=0.0": (source, archive) =>
    gnuTar(["--format=pax", "--sparse", "--sparse-version=0.0", "-czf", archive, "-C", source, "."]),
  "GNU tar --format=pax --sparse-version=0.1": (source, archive) =>
    gnuTar(["--format=pax", "--sparse", "--sparse-version=0.1", "-czf", archive, "-C", source, "."]),
  "GNU tar --format=pax --sparse-version=1.0": (source, archive) =>
    gnuTar(["--format=pax", "--sparse", "--sparse-version=1.0", "-czf", archive, "-C", source, "."]),
  "bsdtar (sparse by default)": (source, archive) => bsdTar(["-czf", archive, "-C", source, "."]),
};

describe("sparse files from real tools", () => {
  for (const [name, produce] of Object.entries(producers)) {
    test(`${name}: restored with holes and real size; listed with real names and sizes`, async () => {
      const source = writeSource();
      const archive = join(root, "a.tar.gz");
      produce(source, archive);
      const target = join(root, "target");

      const result = await extract(createReadStream(archive), target);

      expectSameSparseFile(join(target, "data", "disk.img"), join(source, "data", "disk.img"));
      expect(readFileSync(join(target, "data", "zz-after.txt"), "utf8")).toBe("after\n");
      expect(readFileSync(join(target, "before.txt"), "utf8")).toBe("before\n");
      expect(result.files).toBe(3);
      const listed = (await list(archive)).map((e): [string, number] => [e.path, e.size]);
      expect(listed).toEqual(gnuListing(archive));
      expect(listed).toContainEqual(["data/disk.img", 10 * MiB]);
      expect(listed.map(([path]) => path)).toContain("data/zz-after.txt");
    });
  }

  test("hashFiles gives each file the sha256 of its content, a sparse file's holes as zeros", async () => {
    const source = writeSource();
    const sha256 = (path: string) =>
      createHash("sha256")
        .update(readFileSync(join(source, path)))
        .digest("hex");
    for (const [name, produce] of Object.entries(producers)) {
      const archive = join(root, `${name.replace(/\W+/g, "-")}.tar.gz`);
      produce(source, archive);
      const hashed: Record<string, string | undefined> = {};
      for await (const entry of contents(createReadStream(archive), { hashFiles: true })) {
        hashed[entry.path] = entry.sha256;
      }
      expect(hashed, name).toEqual({
        ".": undefined,
        data: undefined,
        "before.txt": sha256("before.txt"),
        "data/disk.img": sha256("data/disk.img"),
        "data/zz-after.txt": sha256("data/zz-after.txt"),
      });
    }
  });

  test("an old GNU sparse file with many extension blocks, then more entries", async () => {
    // 60 runs: the header's 4, then three extension blocks of 21.
    const source = sparseSource(
      "many.img",
      64 * MiB,
      Array.from({ length: 60 }, (_, i) => i * MiB + 8192),
    );
    for (const name of ["x1.txt", "x2.txt", "x3.txt"]) writeFileSync(join(source, name), name);
    const archive = join(root, "a.tar.gz");
    gnuTar([
      "--format=gnu",
      "--sparse",
      "-czf",
      archive,
      "-C",
      source,
      "many.img",
      "x1.txt",
      "x2.txt",
      "x3.txt",
    ]);

    const listed = (await list(archive)).map((e): [string, number] => [e.path, e.size]);
    expect(listed).toEqual(gnuListing(archive));
    expect(listed).toEqual([
      ["many.img", 64 * MiB],
      ["x1.txt", 6],
      ["x2.txt", 6],
      ["x3.txt", 6],
    ]);
    const target = join(root, "target");
    await extract(createReadStream(archive), target);
    expectSameSparseFile(join(target, "many.img"), join(source, "many.img"));
    expect(readFileSync(join(target, "x3.txt"), "utf8")).toBe("x3.txt");
  });

  for (const format of ["gnu", "pax"]) {
    test(`--format=${format}: a 9 GiB sparse file (real size past 8 GiB) keeps its size and data`, async () => {
      const size = 9 * GiB + 4096;
      const runs = [2 * GiB, 9 * GiB - 8192];
      const source = sparseSource("big.img", size, runs);
      const archive = join(root, "big.tar.gz");
      gnuTar([`--format=${format}`, "--sparse", "-czf", archive, "-C", source, "big.img"]);

      expect((await list(archive)).map((e) => [e.path, e.size])).toEqual([["big.img", size]]);
      const target = join(root, "target");
      await extract(createReadStream(archive), target);

      const restored = join(target, "big.img");
      expect(statSync(restored).size).toBe(size);
      expect(statSync(restored).blocks * 512).toBeLessThan(MiB);
      for (const offset of [...runs, 0, 5 * GiB]) {
        expect(readAt(restored, offset, 6000).equals(readAt(join(source, "big.img"), offset, 6000))).toBe(
          true,
        );
      }
    });
  }
});

describe("sparse maps stream", () => {
  for (const format of ["gnu", "pax"]) {
    test(`--format=${format}: fed 7 bytes at a time, the parser places every run (map across slices)`, () => {
      // 30 runs: old GNU needs two extension blocks; the pax 1.0 map spans more than one slice.
      const source = sparseSource(
        "s.img",
        40 * MiB,
        Array.from({ length: 30 }, (_, i) => i * MiB + 512),
      );
      const archive = join(root, "s.tar");
      gnuTar([`--format=${format}`, "--sparse", "-cf", archive, "-C", source, "s.img"]);
      const tar = readFileSync(archive);
      const original = readFileSync(join(source, "s.img"));
      const rebuilt = Buffer.alloc(original.length);
      const entries: Array<[string, number]> = [];
      let lastEnd = 0;
      const parser = new TarParser({
        onEntry: (entry) => entries.push([entry.path, entry.size]),
        onData: (chunk, position) => {
          expect(position).toBeGreaterThanOrEqual(lastEnd);
          lastEnd = position + chunk.length;
          rebuilt.set(chunk, position);
        },
        onEntryEnd: () => entries.push(["end", lastEnd]),
      });
      for (let i = 0; i < tar.length; i += 7) parser.push(tar.subarray(i, i + 7));
      // One entry, its real size; where its data ends depends on the filesystem's block size.
      expect(entries.map(([name]) => name)).toEqual(["s.img", "end"]);
      expect(entries[0]?.[1]).toBe(40 * MiB);
      expect(rebuilt.equals(original)).toBe(true);
    });
  }
});

function readAt(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, position);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/** A pax 1.0 sparse entry as GNU tar writes one: the map (one number a line) padded to 512, then data. */
function pax1Entry(realSize: number, mapLines: readonly string[], data: string): CraftEntry {
  const map = Buffer.alloc(Math.ceil((mapLines.join("\n").length + 1) / 512) * 512);
  map.write(`${mapLines.join("\n")}\n`);
  return {
    path: "GNUSparseFile.0/file.bin",
    content: Buffer.concat([map, Buffer.from(data)]),
    pax: {
      "GNU.sparse.major": "1",
      "GNU.sparse.minor": "0",
      "GNU.sparse.name": "file.bin",
      "GNU.sparse.realsize": String(realSize),
    },
  };
}

/** Malformed maps, refused as corrupt by extract and by contents alike (crafted: no tool writes them). */
const malformed: Record<string, () => Buffer> = {
  "offsets going backwards": () =>
    craftTarGz([pax1Entry(100, ["2", "50", "4", "10", "4"], "aaaabbbb"), { path: "after", content: "x" }]),
  "a run beyond the real size": () => craftTarGz([pax1Entry(100, ["1", "98", "4"], "aaaa")]),
  "a bad number": () => craftTarGz([pax1Entry(100, ["1", "1x", "4"], "aaaa")]),
  "a map cut short by the end of the entry": () =>
    craftTarGz([{ ...pax1Entry(100, ["3", "0", "4"], ""), content: Buffer.from("3\n0\n4\n") }]),
  "stored data that does not match the map": () => craftTarGz([pax1Entry(100, ["1", "0", "4"], "aaaaaaaa")]),
  "a 0.1 map with an odd count of numbers": () =>
    craftTarGz([
      {
        path: "file.bin",
        content: "aaaa",
        pax: { "GNU.sparse.size": "100", "GNU.sparse.map": "0,4,90", "GNU.sparse.numblocks": "2" },
      },
    ]),
  "an old GNU extension block whose offsets go backwards": () => {
    // Made by GNU tar, then one offset of the first extension block set back to 0.
    const source = sparseSource("s.img", 10 * MiB, SIX_RUNS);
    const archive = join(root, "gnu.tar.gz");
    gnuTar(["--format=gnu", "--sparse", "-czf", archive, "-C", source, "s.img"]);
    const tar = gunzipSync(readFileSync(archive));
    expect(tar.toString("latin1", 156, 157)).toBe("S");
    tar.write("00000000000\0", 512, "latin1");
    return gzipSync(tar);
  },
};

describe("malformed sparse maps are a corrupt archive, never a shortened listing", () => {
  for (const [name, archive] of Object.entries(malformed)) {
    test(name, async () => {
      const bytes = archive();
      const target = join(root, "target");
      mkdirSync(target);
      await expect(extract(chunked(bytes), target)).rejects.toMatchObject({
        code: "INVALID_INPUT",
        message: expect.stringContaining("corrupt"),
      });
      await expect(
        (async () => {
          for await (const _ of contents(chunked(bytes))) {
            // Entries read before the damage may come; the listing must still end in the error.
          }
        })(),
      ).rejects.toMatchObject({ code: "INVALID_INPUT" });
    });
  }

  test("an old GNU sparse header whose real size is negative (base-256) is refused for that", async () => {
    // Made by GNU tar, then the real size set to -1 and the header checksum made right again.
    const source = sparseSource("s.img", 10 * MiB, SIX_RUNS);
    const archive = join(root, "gnu.tar.gz");
    gnuTar(["--format=gnu", "--sparse", "-czf", archive, "-C", source, "s.img"]);
    const tar = gunzipSync(readFileSync(archive));
    expect(tar.toString("latin1", 156, 157)).toBe("S");
    tar.fill(0xff, 483, 495);
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i] ?? 0;
    tar.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    const target = join(root, "target");
    mkdirSync(target);
    await expect(extract(chunked(gzipSync(tar)), target)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { reason: "a sparse file has a negative size" },
    });
  });

  test("a sparse format version Strongbox does not know is refused, naming it", async () => {
    const entry = pax1Entry(100, ["1", "0", "4"], "aaaa");
    const bytes = craftTarGz([{ ...entry, pax: { ...entry.pax, "GNU.sparse.major": "2" } }]);
    const target = join(root, "target");
    mkdirSync(target);
    await expect(extract(chunked(bytes), target)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { sparseVersion: "2.0" },
    });
  });

  test("a map with more runs than maxSparseRuns is refused with the limit named", async () => {
    const bytes = craftTarGz([pax1Entry(100, ["3", "0", "1", "10", "1", "20", "1"], "abc")]);
    const target = join(root, "target");
    mkdirSync(target);
    await expect(extract(chunked(bytes), target, { limits: { maxSparseRuns: 2 } })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { limit: "maxSparseRuns" },
    });
    await extract(chunked(bytes), target, { limits: { maxSparseRuns: 3 } });
    const restored = readFileSync(join(target, "file.bin"));
    expect(restored).toHaveLength(100);
    expect([restored[0], restored[10], restored[20], restored[21]]).toEqual([0x61, 0x62, 0x63, 0]);
  });
});
