import { createHash, randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { RECORD_BYTES } from "../src/chunk-index.js";
import { ChunkIndex, decodeIndexObject, encodeIndexObject } from "../src/index.js";
import { holds } from "../src/shared-ids.js";

const MiB = 1024 * 1024;
const idOf = (n: number) => createHash("sha256").update(String(n)).digest();

describe("the chunk index", () => {
  test("a million chunks: every one found where it was put, none that was not, in about 56 MiB", () => {
    const index = new ChunkIndex();
    const count = 1_000_000;
    const where = (n: number) => ({
      pack: `pack-${n >> 10}`,
      offset: n * 7,
      length: 1000 + (n % 5000),
      rawLength: 16_384,
    });
    let added = 0;
    for (let n = 0; n < count; n++) if (index.add(idOf(n), where(n))) added++;
    expect(added).toBe(count);
    index.compact();
    expect(index.size).toBe(count);
    for (let n = 0; n < count; n += 997) {
      expect(index.get(idOf(n))).toEqual({
        pack: `pack-${n >> 10}`,
        offset: n * 7,
        length: 1000 + (n % 5000),
        rawLength: 16_384,
      });
    }
    for (let n = count; n < count + 1000; n++) expect(index.has(idOf(n))).toBe(false);
    // 32 bytes of id, 16 of location, 4 of table at most half full (rounded up to a power of two).
    expect(index.byteLength / MiB).toBeLessThan(58);
    expect(index.add(idOf(5), { pack: "other", offset: 0, length: 1, rawLength: 1 })).toBe(false);
    expect(index.get(idOf(5))?.pack).toBe("pack-0");
  });

  test("shared ids answer exactly for the chunks held when shared, however the index grows after", () => {
    const index = new ChunkIndex();
    const where = { pack: "p", offset: 0, length: 1, rawLength: 1 };
    // Not compacted: the arrays have room, so the first adds after sharing write into the shared memory.
    for (let n = 0; n < 3_000; n++) index.add(idOf(n), where);
    const shared = index.share();
    expect(shared.ids.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.table.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.count).toBe(3_000);
    // The first adds go into the shared table in place, the later ones into grown and rehashed arrays.
    for (let n = 3_000; n < 20_000; n++) {
      index.add(idOf(n), where);
      if (n === 3_010) for (let m = 0; m < 3_000; m++) expect(holds(shared, idOf(m))).toBe(true);
    }
    for (let n = 0; n < 3_000; n++) expect(holds(shared, idOf(n))).toBe(true);
    for (let n = 3_000; n < 20_000; n++) expect(holds(shared, idOf(n))).toBe(false);
    for (let n = 0; n < 20_000; n++) expect(index.has(idOf(n))).toBe(true);
    expect(index.has(idOf(20_000))).toBe(false);
    expect(index.get(idOf(2_999))).toEqual(where);
  });

  test("records added at once give the index that adding them one by one gives, first location kept", () => {
    const packs = Array.from({ length: 7 }, (_, p) => `pack-${p}`);
    const where = (n: number) => ({ pack: packs[n % 7]!, offset: n * 3, length: n + 1, rawLength: n + 2 });
    const record = (n: number, location = where(n)) => {
      const bytes = Buffer.alloc(RECORD_BYTES);
      idOf(n).copy(bytes);
      const fields = [packs.indexOf(location.pack), location.offset, location.length, location.rawLength];
      for (const [at, value] of fields.entries()) bytes.writeUInt32LE(value, 32 + at * 4);
      return bytes;
    };
    const one = new ChunkIndex();
    const many = new ChunkIndex();
    // Chunks 0-499 are held already, elsewhere: they keep that location.
    for (let n = 0; n < 500; n++) {
      one.add(idOf(n), { ...where(n), pack: "older" });
      many.add(idOf(n), { ...where(n), pack: "older" });
    }
    const shared = many.share();
    // Chunks 0-2999, then 2000-3999, where 2000-2999 come again at another place: the first record wins.
    const records: Buffer[] = [];
    for (let n = 0; n < 3000; n++) records.push(record(n));
    for (let n = 2000; n < 4000; n++)
      records.push(record(n, n < 3000 ? { ...where(n), offset: 999_999 } : where(n)));
    for (let n = 0; n < 4000; n++) one.add(idOf(n), where(n));

    expect(many.addRecords(Buffer.concat(records), packs)).toBe(3500);
    expect(many.size).toBe(4000);
    expect([...many.entries()]).toEqual([...one.entries()]);
    for (let n = 0; n < 4000; n++) expect(many.get(idOf(n))).toEqual(one.get(idOf(n)));
    expect(many.has(idOf(4000))).toBe(false);
    // The ids shared before stay exactly those.
    for (let n = 0; n < 4000; n += 7) expect(holds(shared, idOf(n))).toBe(n < 500);

    // Refused whole: a record naming a pack not listed, or bytes that are not whole records.
    const before = [...many.entries()];
    const badPack = record(5001);
    badPack.writeUInt32LE(7, 32);
    for (const bad of [Buffer.concat([record(5000), badPack]), record(5000).subarray(1)]) {
      expect(() => many.addRecords(bad, packs)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    }
    expect([...many.entries()]).toEqual(before);
  });

  test("a clone holds the same chunks in memory of its own: adds to either never reach the other", () => {
    const at = (n: number) => ({ pack: `p${n % 3}`, offset: n, length: 10 + n, rawLength: 20 + n });
    const original = new ChunkIndex();
    for (let n = 0; n < 3000; n++) original.add(idOf(n), at(n));
    const shared = original.share();
    const copy = original.clone();
    expect(copy.byteLength).toBeLessThan(original.byteLength);
    expect([...copy.entries()]).toEqual([...original.entries()]);
    for (let n = 3000; n < 5000; n++) copy.add(idOf(n), at(n));
    original.add(idOf(-1), at(1));
    expect(original.size).toBe(3001);
    expect(original.has(idOf(3000))).toBe(false);
    expect(copy.size).toBe(5000);
    expect(copy.has(idOf(-1))).toBe(false);
    expect(copy.get(idOf(4999))).toEqual(at(4999));
    expect(copy.share().ids.buffer).not.toBe(shared.ids.buffer);
    // An empty index's clone grows like any index.
    const empty = new ChunkIndex().clone();
    for (let n = 0; n < 10; n++) empty.add(idOf(n), at(n));
    expect([...empty.entries()].map(([id]) => Buffer.from(id).toString("hex"))).toEqual(
      Array.from({ length: 10 }, (_, n) => idOf(n).toString("hex")),
    );
  });

  test("index objects round-trip; damaged ones are refused with the object named", () => {
    const index = new ChunkIndex();
    const ids = Array.from({ length: 300 }, () => randomBytes(32));
    for (const [n, id] of ids.entries()) {
      index.add(id, { pack: `p${n % 3}`, offset: n, length: n + 1, rawLength: n + 2 });
    }
    const bytes = encodeIndexObject(index.entries());

    const loaded = new ChunkIndex();
    expect(decodeIndexObject(bytes, loaded, "index/a")).toBe(300);
    expect([...loaded.entries()]).toEqual([...index.entries()]);

    for (const damaged of [
      bytes.subarray(0, bytes.length - 1),
      Buffer.concat([bytes, Buffer.alloc(1)]),
      Buffer.from("SBIX"),
    ]) {
      expect(() => decodeIndexObject(damaged, new ChunkIndex(), "index/a")).toThrow(
        expect.objectContaining({
          code: "INVALID_INPUT",
          message: expect.stringContaining("index/a is damaged"),
        }),
      );
    }
    const badPack = Buffer.from(bytes);
    badPack.writeUInt32LE(99, bytes.length - 16);
    const untouched = new ChunkIndex();
    expect(() => decodeIndexObject(badPack, untouched, "index/a")).toThrow(/names a pack it does not list/);
    // Nothing of a damaged object is added, not even the entries before the damage.
    expect(untouched.size).toBe(0);
  });

  test("byPack lists each pack's chunks in the order they were added", () => {
    const index = new ChunkIndex();
    const where = (n: number) => ({ pack: `pack-${n % 3}`, offset: n * 10, length: 10, rawLength: 20 });
    for (let n = 0; n < 3000; n++) index.add(idOf(n), where(n));
    index.compact();
    const byPack = index.byPack();
    for (let pack = 0; pack < 3; pack++) {
      const expected = [];
      for (let n = pack; n < 3000; n += 3) expected.push([new Uint8Array(idOf(n)), where(n)]);
      expect(byPack(`pack-${pack}`)).toEqual(expected);
    }
    expect(byPack("pack-none")).toEqual([]);
    expect(new ChunkIndex().byPack()("pack-0")).toEqual([]);
  });

  test("bad ids and locations are typed errors", () => {
    const index = new ChunkIndex();
    expect(() => index.add(new Uint8Array(31), { pack: "p", offset: 0, length: 1, rawLength: 1 })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => index.add(idOf(1), { pack: "p", offset: -1, length: 1, rawLength: 1 })).toThrow(/offset/);
    expect(index.size).toBe(0);
  });
});
