import { randomBytes } from "node:crypto";
import { isStrongboxError } from "@strongbox/core";
import { describe, expect, test } from "vitest";
import { createChunkStream } from "../src/chunk-stream.js";
import { createChunker } from "../src/chunker.js";
import {
  compareRecordPath,
  encodeTreeEntry,
  matchFileRecord,
  recordChunks,
  TreeDecoder,
  type TreeEntry,
  TreeWriter,
} from "../src/tree.js";

const SIZES = { min: 64, average: 256, max: 1024 };

function file(path: string, chunks = 2, fields: Partial<TreeEntry> = {}): TreeEntry {
  return {
    path,
    type: "file",
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtimeNs: 1_700_000_000_123_456_789n,
    ctimeNs: 1_700_000_001_987_654_321n,
    inode: 2n ** 40n + 7n,
    device: 2049n,
    size: 123_456,
    chunks: randomBytes(32 * chunks),
    ...fields,
  };
}

/** A tree of every kind of entry, with a name that is not UTF-8 (as core's decodePath gives it). */
function entries(): TreeEntry[] {
  return [
    { ...file("config", 0), type: "directory", size: 0 },
    file("config/server.properties", 1),
    { ...file("config/link", 0), type: "symlink", size: 0, linkTarget: "../server.jar" },
    file("server.jar", 300),
    ...Array.from({ length: 40 }, (_, n) => file(`world/region/r.${n}.0.mca`, 3)),
    file("caf\udce9.txt", 0, { size: 0 }),
  ];
}

/** The chunks a fresh chunk stream cuts `bytes` into, pushed at once. */
function chunksOf(bytes: Buffer): Buffer[] {
  const stream = createChunkStream(createChunker(SIZES));
  const chunks = stream.push(bytes);
  const last = stream.end();
  return last ? [...chunks, last] : chunks;
}

describe("tree records", () => {
  test("the writer's batches give the chunks of the records written one by one, through add or addRecord", () => {
    const tree = entries();
    const records = tree.map(encodeTreeEntry);
    const expected = chunksOf(Buffer.concat(records));
    expect(expected.length).toBeGreaterThan(10);
    // 512-byte batches: records span batches, and the jar's record (9.6 KiB) is larger than one.
    for (const batchBytes of [512, 64 * 1024]) {
      for (const raw of [false, true]) {
        const writer = new TreeWriter(createChunkStream(createChunker(SIZES)), batchBytes);
        const chunks = tree.flatMap((entry, n) => (raw ? writer.addRecord(records[n]!) : writer.add(entry)));
        chunks.push(...writer.end());
        expect(chunks.map((c) => c.toString("hex"))).toEqual(expected.map((c) => c.toString("hex")));
      }
    }
  });

  test("records read back are byte-identical to those written, in any slices, and decode to the entries", () => {
    const tree = entries();
    const bytes = Buffer.concat(tree.map(encodeTreeEntry));
    for (const slice of [1, 7, 100, bytes.length]) {
      const decoder = new TreeDecoder("snapshot t");
      const records: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += slice)
        records.push(...decoder.records(bytes.subarray(at, at + slice)));
      decoder.end();
      expect(Buffer.concat(records).equals(bytes)).toBe(true);
      const hex = (chunks: Uint8Array) => Buffer.from(chunks).toString("hex");
      expect(
        records.map((record) => ({ ...decoder.decode(record), chunks: hex(recordChunks(record)) })),
      ).toEqual(tree.map((entry) => ({ ...entry, chunks: hex(entry.chunks) })));
      expect(records.map((record) => hex(decoder.decode(record).chunks))).toEqual(
        tree.map((entry) => hex(entry.chunks)),
      );
    }
  });

  test("a parent's file record matches a walk entry on every field, on restic's four, or not at all", () => {
    const before = file("a/b.txt", 3);
    const [record] = new TreeDecoder("t").records(encodeTreeEntry(before));
    const now = (fields: Partial<TreeEntry>) => ({ ...before, chunks: new Uint8Array(0), ...fields });
    expect(matchFileRecord(record!, now({}))).toBe("same");
    // What restic's rule does not look at: the chunks can be reused, the record not.
    expect(matchFileRecord(record!, now({ mode: 0o600 }))).toBe("same-content");
    expect(matchFileRecord(record!, now({ uid: 0 }))).toBe("same-content");
    expect(matchFileRecord(record!, now({ gid: 0 }))).toBe("same-content");
    expect(matchFileRecord(record!, now({ device: 2050n }))).toBe("same-content");
    // What it does.
    expect(matchFileRecord(record!, now({ size: before.size + 1 }))).toBe("changed");
    expect(matchFileRecord(record!, now({ mtimeNs: before.mtimeNs + 1n }))).toBe("changed");
    expect(matchFileRecord(record!, now({ ctimeNs: before.ctimeNs - 1n }))).toBe("changed");
    expect(matchFileRecord(record!, now({ inode: before.inode + 2n ** 32n }))).toBe("changed");
    // A folder or a link is never a file's parent record.
    for (const type of ["directory", "symlink"] as const) {
      const [other] = new TreeDecoder("t").records(
        encodeTreeEntry({ ...before, type, chunks: new Uint8Array(0) }),
      );
      expect(matchFileRecord(other!, now({}))).toBe("changed");
    }
  });

  test("record paths compare in walk order: parents first, then children, then siblings by bytes", () => {
    const paths = ["a", "a/b", "a/b/c", "a/c", "a.b", "a0", "b", "\u00e9"];
    const records = paths.map((path) => encodeTreeEntry(file(path, 0)));
    for (const [i, record] of records.entries()) {
      for (const [j, path] of paths.entries()) {
        const order = Math.sign(compareRecordPath(record, Buffer.from(path)));
        expect(order, `${paths[i]} against ${path}`).toBe(Math.sign(i - j));
      }
    }
  });

  test("a damaged record is refused with INVALID_INPUT, naming the snapshot", () => {
    const good = encodeTreeEntry(file("x", 1));
    const damaged = (mend: (bytes: Buffer) => void) => {
      const bytes = Buffer.from(good);
      mend(bytes);
      return bytes;
    };
    for (const bytes of [
      damaged((b) => b.writeUInt8(9, 4)), // an unknown type
      damaged((b) => b.writeUInt32LE(2, 65)), // two chunk ids said, one there
      damaged((b) => b.writeUInt32LE(10, 0)), // shorter than any record
    ]) {
      let error: unknown;
      try {
        new TreeDecoder("snapshot t").records(bytes);
      } catch (caught) {
        error = caught;
      }
      expect(isStrongboxError(error) && error.code).toBe("INVALID_INPUT");
      expect((error as Error).message).toMatch(/^The tree of snapshot t is damaged: /);
    }
    const decoder = new TreeDecoder("snapshot t");
    decoder.records(good.subarray(0, 20));
    expect(() => decoder.end()).toThrow(/ends inside a record/);
  });
});
