import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  createMemoryStorage,
  type StorageAdapter,
  validateKey,
  validatePrefix,
  withKeyValidation,
} from "../src/index.js";

const invalidInput = expect.objectContaining({ code: "INVALID_INPUT" });

describe("validateKey", () => {
  it("accepts relative keys made of plain segments", () => {
    for (const key of ["a", "srv-1/3e8e8f18-25fa.tar.gz", "a/b/c.json", "x@y+z=1_2.bin", ".hidden/.file"]) {
      expect(validateKey(key)).toBe(key);
    }
  });

  it("refuses traversal, absolute, empty-segment, oversized and exotic keys with a sentence", () => {
    const bad = [
      "",
      "/abs",
      "trailing/",
      "a//b",
      "..",
      "a/../b",
      "./a",
      "a/.",
      "a\\b",
      "a b",
      "a\u0000b",
      "é",
      "a~b",
      `${"x".repeat(201)}`,
      Array.from({ length: 300 }, () => "abcd").join("/"),
    ];
    for (const key of bad) {
      expect(() => validateKey(key), key).toThrow(invalidInput);
    }
    expect(() => validateKey("a/../b")).toThrow(/"\.\."/);
    expect(() => validateKey("a\u0000b")).toThrow(/\\u0000/);
  });
});

describe("validatePrefix", () => {
  it("returns the folder form of a prefix", () => {
    expect(validatePrefix("")).toBe("");
    expect(validatePrefix("a")).toBe("a/");
    expect(validatePrefix("a/")).toBe("a/");
    expect(validatePrefix("a/b")).toBe("a/b/");
  });

  it("refuses prefixes that are absolute or contain traversal", () => {
    for (const prefix of ["/", "/a", "../a", "a/..", "a//", "a//b", "."]) {
      expect(() => validatePrefix(prefix), prefix).toThrow(invalidInput);
    }
  });
});

describe("withKeyValidation", () => {
  function recordingAdapter(calls: string[]): StorageAdapter {
    const inner = createMemoryStorage();
    return {
      ...inner,
      list(prefix) {
        calls.push(`list:${prefix}`);
        return inner.list(prefix);
      },
      async downloadUrl(key) {
        calls.push(`url:${key}`);
        return `memory://${key}`;
      },
    };
  }

  it("hands adapters folder-form prefixes and valid keys only", async () => {
    const calls: string[] = [];
    const store = withKeyValidation(recordingAdapter(calls));
    for await (const _ of store.list("srv")) break;
    await expect(store.put("../x", Readable.from([]))).rejects.toThrow(invalidInput);
    await expect(store.downloadUrl!("../x")).rejects.toThrow(invalidInput);
    expect(calls).toEqual(["list:srv/"]);
  });

  it("checks range shapes and download options before the adapter sees them", async () => {
    const calls: string[] = [];
    const store = withKeyValidation(recordingAdapter(calls));
    await store.put("srv/a.bin", Readable.from([Buffer.from("abc")]));
    for (const range of [{ start: -1 }, { start: 1.5 }, { start: 2, end: 1 }]) {
      await expect(store.get("srv/a.bin", { range })).rejects.toThrow(invalidInput);
    }
    for (const options of [
      { expiresIn: 0 },
      { expiresIn: 1.5 },
      { expiresIn: 8 * 24 * 3600 },
      { filename: "" },
    ]) {
      await expect(store.downloadUrl!("srv/a.bin", options)).rejects.toThrow(invalidInput);
    }
    for (const filename of ["a/b.tar.gz", "a\\b", "line\nbreak", "x".repeat(256)]) {
      await expect(store.downloadUrl!("srv/a.bin", { filename })).rejects.toThrow(invalidInput);
    }
    expect(calls).toEqual([]);
    expect(await store.downloadUrl!("srv/a.bin", { expiresIn: 60, filename: "Backup été.tar.gz" })).toBe(
      "memory://srv/a.bin",
    );
  });

  it("keeps downloadUrl absent when the adapter has none, and wraps only once", () => {
    const store = withKeyValidation(createMemoryStorage());
    expect(store.downloadUrl).toBeUndefined();
    expect(store.name).toBe("memory");
    expect(withKeyValidation(store)).toBe(store);
  });
});
