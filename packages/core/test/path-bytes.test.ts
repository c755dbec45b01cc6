import { describe, expect, it } from "vitest";
import { decodePath, encodePath, fsPath, hasRawBytes } from "../src/path-bytes.js";

const bytes = (...values: number[]) => Buffer.from(values);

describe("path bytes", () => {
  it("decodes UTF-8 as text and leaves it unmarked", () => {
    const name = decodePath(Buffer.from("café/😀.txt", "utf8"));
    expect(name).toBe("café/😀.txt");
    expect(hasRawBytes(name)).toBe(false);
    expect(fsPath(name)).toBe(name);
  });

  it("keeps bytes that are not UTF-8 and round-trips them", () => {
    const e9 = Buffer.concat([Buffer.from("caf"), bytes(0xe9), Buffer.from(".txt")]);
    const e8 = Buffer.concat([Buffer.from("caf"), bytes(0xe8), Buffer.from(".txt")]);
    const a = decodePath(e9);
    const b = decodePath(e8);
    expect(a).not.toBe(b);
    expect(a).toBe("caf\udce9.txt");
    expect(hasRawBytes(a)).toBe(true);
    expect(encodePath(a).equals(e9)).toBe(true);
    expect(Buffer.isBuffer(fsPath(a))).toBe(true);
    expect(JSON.parse(JSON.stringify(a))).toBe(a);
  });

  it("treats overlong forms, surrogates, truncated and out-of-range sequences as raw bytes", () => {
    for (const raw of [
      bytes(0xc0, 0xaf),
      bytes(0xed, 0xb3, 0xa9),
      bytes(0xe2, 0x82),
      bytes(0xf4, 0x90, 0x80, 0x80),
      bytes(0xff, 0x41, 0xe2, 0x82, 0xac),
    ]) {
      const name = decodePath(raw);
      expect(hasRawBytes(name)).toBe(true);
      expect(encodePath(name).equals(raw)).toBe(true);
    }
  });

  it("keeps the bytes of a byte-order mark, at the start or after a raw byte", () => {
    for (const raw of [bytes(0xef, 0xbb, 0xbf, 0x61), bytes(0xff, 0xef, 0xbb, 0xbf)]) {
      expect(encodePath(decodePath(raw)).equals(raw)).toBe(true);
    }
  });

  it("does not mistake a surrogate pair for raw bytes", () => {
    const name = "\ud800\udc80"; // U+10080, a valid character whose low surrogate is in DC80-DCFF
    expect(hasRawBytes(name)).toBe(false);
    expect(encodePath(name).equals(Buffer.from(name, "utf8"))).toBe(true);
  });

  it("refuses a lone surrogate that stands for no byte", () => {
    expect(() => encodePath("a\ud800b")).toThrow(RangeError);
  });
});
