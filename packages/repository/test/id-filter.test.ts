import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { buildIdFilter, mayHold } from "../src/id-filter.js";

describe("the id filter of chunk workers", () => {
  test("holds every id it was built from, and few others (about 1 in 120)", () => {
    const ids = randomBytes(50_000 * 32);
    const filter = new Uint32Array(buildIdFilter(ids));
    // 10 bits an id, rounded up to a power of two.
    expect(filter.byteLength).toBe(65_536);
    for (let at = 0; at < ids.length; at += 32) expect(mayHold(filter, ids.subarray(at, at + 32))).toBe(true);
    const others = randomBytes(100_000 * 32);
    let wrong = 0;
    for (let at = 0; at < others.length; at += 32) if (mayHold(filter, others.subarray(at, at + 32))) wrong++;
    expect(wrong / 100_000).toBeLessThan(0.01);
  });

  test("an empty index gives a filter that holds nothing", () => {
    const filter = new Uint32Array(buildIdFilter(new Uint8Array(0)));
    expect(mayHold(filter, randomBytes(32))).toBe(false);
  });
});
