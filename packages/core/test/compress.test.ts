import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { crc32, deflateRaw, gunzipSync, gzipSync, inflateRawSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type CompressOptions,
  compress,
  compressBlocks,
  DEFAULT_BLOCK_SIZE,
  type InputBlock,
} from "../src/archive/gzip/compress.js";

const run = promisify(execFile);
const KiB = 1024;

/** Text that deflates like real logs/configs: words from a small vocabulary in a seeded order. */
function text(bytes: number, seed = 1): Buffer {
  const words = ["server", "backup", "world", "region", "player", "chunk", "entity", "level", "tick", "save"];
  let state = seed;
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const word = `${words[state % words.length]}${state % 7 === 0 ? `=${state % 1000}\n` : " "}`;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join("")).subarray(0, bytes);
}

/** Yields `data` in chunks whose sizes cycle through `sizes`, so blocks are both joined and split. */
async function* chunks(data: Uint8Array, sizes: readonly number[] = [1, 7000, 300 * KiB, 1300 * KiB]) {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function compressAll(data: Uint8Array, options: CompressOptions): Promise<Buffer> {
  return collect(compress(chunks(data), options));
}

/** Asserts `gz` is exactly ONE gzip member holding `data`: header, one deflate stream, matching trailer. */
function expectSingleMember(gz: Buffer, data: Uint8Array): void {
  expect([...gz.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0]);
  expect(gz[9]).toBe(3);
  // A raw inflate stops at the first final block: with several members it would return only the first.
  expect(inflateRawSync(gz.subarray(10, -8)).equals(data)).toBe(true);
  expect(gz.readUInt32LE(gz.length - 8)).toBe(crc32(data));
  expect(gz.readUInt32LE(gz.length - 4)).toBe(data.length % 2 ** 32);
  expect(gunzipSync(gz).equals(data)).toBe(true);
}

describe("compress round trips", () => {
  const mixed = Buffer.concat([text(200 * KiB), randomBytes(150 * KiB), text(100 * KiB, 7)]);
  const cases: Array<[string, Buffer]> = [
    ["empty input", Buffer.alloc(0)],
    ["one byte", Buffer.from([42])],
    ["exactly one block", text(DEFAULT_BLOCK_SIZE)],
    ["one block plus one byte", text(DEFAULT_BLOCK_SIZE + 1)],
    ["many blocks of text", text(5 * DEFAULT_BLOCK_SIZE + 1234)],
    ["random data", randomBytes(DEFAULT_BLOCK_SIZE + 70 * KiB)],
    ["mixed text and random data", mixed],
  ];

  it.each(cases)("%s gunzips to the input as one member", async (_name, data) => {
    expectSingleMember(await compressAll(data, { level: 1 }), data);
  });

  it.each([0, 1, 6, 9])("level %i gunzips to the input, across many small blocks", async (level) => {
    const gz = await compressAll(mixed, { level, blockSize: 32 * KiB, concurrency: 3 });
    expectSingleMember(gz, mixed);
    expect(gz[8]).toBe(level === 9 ? 2 : level <= 1 ? 4 : 0);
  });

  it("keeps the ratio of single-stream gzip at level 6 (each block primed with the previous input)", async () => {
    const data = text(2 * KiB * KiB, 3);
    const gz = await compressAll(data, { level: 6, blockSize: 64 * KiB });
    expectSingleMember(gz, data);
    const reference = gzipSync(data, { level: 6 }).length;
    expect(gz.length).toBeLessThanOrEqual(reference * 1.01);
  });

  it("stores data that does not shrink, so it costs no deflate and grows by block headers only", async () => {
    const data = randomBytes(3 * 64 * KiB);
    const gz = await compressAll(data, { level: 6, blockSize: 64 * KiB });
    expectSingleMember(gz, data);
    const storedBlocks = Math.ceil(data.length / 0xffff) + 3;
    expect(gz.length).toBeLessThanOrEqual(data.length + storedBlocks * 5 + 10 + 2 + 8);
    // First deflate block after the 10-byte header: BTYPE 00 (stored), full LEN.
    expect(gz[10]! & 0b110).toBe(0);
    expect(gz.readUInt16LE(11)).toBe(0xffff);
  });

  it("still deflates high-entropy data that repeats (the trial deflate overrules the histogram)", async () => {
    const data = Buffer.alloc(128 * KiB).fill(randomBytes(4 * KiB));
    const gz = await compressAll(data, { level: 1, blockSize: 64 * KiB });
    expectSingleMember(gz, data);
    expect(gz.length).toBeLessThan(data.length / 4);
  });

  it("deflates everything when storing incompressible blocks is turned off", async () => {
    const data = randomBytes(100 * KiB);
    const gz = await compressAll(data, { level: 1, blockSize: 64 * KiB, storeIncompressible: false });
    expectSingleMember(gz, data);
    const stored = await compressAll(data, { level: 1, blockSize: 64 * KiB });
    expect(gz.equals(stored)).toBe(false);
  });
});

describe("compressBlocks with ranges the producer knows are incompressible", () => {
  /** A block of text with random bytes at [from, to), marked incompressible, in memory of its own. */
  function hinted(size: number, from: number, to: number, seed: number): { block: InputBlock; data: Buffer } {
    const data = text(size, seed);
    randomBytes(to - from).copy(data, from);
    const own = Buffer.from(new Uint8Array(data));
    return { block: { data: own, incompressible: Uint32Array.from([from, to]) }, data };
  }

  it("stores exactly those ranges, deflates the rest, and gunzips to the input as one member", async () => {
    const parts = [hinted(200 * KiB, 10 * KiB, 90 * KiB, 1), hinted(150 * KiB, 0, 150 * KiB, 2)];
    parts.push(hinted(100 * KiB, 99 * KiB, 100 * KiB, 3));
    const released: number[] = [];
    async function* blocks() {
      for (const [index, part] of parts.entries())
        yield { ...part.block, release: () => released.push(index) };
    }
    const gz = await collect(compressBlocks(blocks(), { level: 6 }));
    const data = Buffer.concat(parts.map((part) => part.data));
    expectSingleMember(gz, data);
    const randomBytesTotal = 80 * KiB + 150 * KiB + 1 * KiB;
    // Stored bytes cost 5 bytes per 64 KiB; the text around them shrinks several times over.
    expect(gz.length).toBeGreaterThan(randomBytesTotal);
    expect(gz.length).toBeLessThan(randomBytesTotal + (data.length - randomBytesTotal) / 2);
    expect(released).toEqual([0, 1, 2]);
  });

  it("deflates a block without ranges as a whole", async () => {
    const data = text(300 * KiB, 9);
    async function* blocks() {
      yield { data: Buffer.from(new Uint8Array(data)), incompressible: new Uint32Array(0) };
    }
    const gz = await collect(compressBlocks(blocks(), { level: 1 }));
    expectSingleMember(gz, data);
    expect(gz.length).toBeLessThan(data.length / 2);
  });
});

describe("compress output read by GNU gzip", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "strongbox-compress-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ["empty", Buffer.alloc(0), 1],
    ["mixed, level 1", Buffer.concat([text(700 * KiB), randomBytes(600 * KiB), text(30 * KiB, 5)]), 1],
    ["mixed, level 0", Buffer.concat([text(70 * KiB), randomBytes(90 * KiB)]), 0],
    ["text, level 9", text(300 * KiB), 9],
  ] as const)("gzip -t and gzip -dc accept %s", async (_name, data, level) => {
    const file = join(dir, "out.gz");
    await writeFile(file, await compressAll(data, { level }));
    await run("gzip", ["-t", file]);
    const { stdout } = await run("gzip", ["-dc", file], { encoding: "buffer", maxBuffer: 64 * KiB * KiB });
    expect(stdout.equals(data)).toBe(true);
  });
});

describe("compress streaming", () => {
  it("reads no further ahead than the blocks in flight while the consumer does not read", async () => {
    const blockSize = 64 * KiB;
    const random = randomBytes(KiB * KiB);
    const total = 32 * random.length;
    let pulled = 0;
    async function* source() {
      for (let sent = 0; sent < total; sent += random.length) {
        for (let at = 0; at < random.length; at += blockSize) {
          pulled += blockSize;
          yield random.subarray(at, at + blockSize);
        }
      }
    }
    const stream = compress(source(), { level: 1, blockSize, concurrency: 2 });
    const reader = stream[Symbol.asyncIterator]();
    const first = await reader.next();
    // Let the compressor run as far as it will: each wait is a deflate on the same thread pool it uses.
    const settle = randomBytes(512 * KiB);
    for (let i = 0; i < 10; i++) {
      await promisify(deflateRaw)(settle);
      expect(pulled).toBeLessThanOrEqual(12 * blockSize);
    }
    const rest: Buffer[] = [first.value as Buffer];
    for (let next = await reader.next(); !next.done; next = await reader.next())
      rest.push(next.value as Buffer);
    expect(pulled).toBe(total);
    expect(gunzipSync(Buffer.concat(rest)).length).toBe(total);
  });

  it("errors with ABORTED when the signal fires mid-stream, and closes the source", async () => {
    const controller = new AbortController();
    let closeSource!: () => void;
    const sourceClosed = new Promise<void>((resolve) => (closeSource = resolve));
    async function* endless() {
      try {
        for (let seed = 1; ; seed++) yield text(100 * KiB, seed);
      } finally {
        closeSource();
      }
    }
    const stream = compress(endless(), { level: 1, blockSize: 64 * KiB, signal: controller.signal });
    const reader = stream[Symbol.asyncIterator]();
    await reader.next();
    controller.abort();
    await expect(reader.next()).rejects.toMatchObject({ code: "ABORTED" });
    await sourceClosed;
  });

  it("errors with ABORTED without reading when the signal has already fired", async () => {
    let pulled = false;
    async function* source() {
      pulled = true;
      yield Buffer.from("never compressed");
    }
    const stream = compress(source(), { level: 1, signal: AbortSignal.abort() });
    await expect(collect(stream)).rejects.toMatchObject({ code: "ABORTED" });
    expect(pulled).toBe(false);
  });

  it("passes an error of the source on to the output", async () => {
    const failure = new Error("disk went away");
    async function* failing() {
      yield text(300 * KiB);
      throw failure;
    }
    await expect(collect(compress(failing(), { level: 6, blockSize: 64 * KiB }))).rejects.toBe(failure);
  });

  it("closes the source when the consumer destroys the output", async () => {
    let closeSource!: () => void;
    const sourceClosed = new Promise<void>((resolve) => (closeSource = resolve));
    async function* endless() {
      try {
        for (let seed = 1; ; seed++) yield text(100 * KiB, seed);
      } finally {
        closeSource();
      }
    }
    const stream = compress(endless(), { level: 1, blockSize: 64 * KiB });
    for await (const _part of stream) break;
    await sourceClosed;
    expect(stream.destroyed).toBe(true);
  });

  it.each([{ level: 10 }, { level: 1.5 }, { level: 1, blockSize: 1024 }, { level: 1, concurrency: 0 }])(
    "rejects out-of-range options %o with INVALID_INPUT",
    (options) => {
      expect(() => compress(chunks(Buffer.alloc(1)), options)).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT" }),
      );
    },
  );
});
