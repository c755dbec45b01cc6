import { describe, expect, it } from "vitest";
import { PartBuffers } from "../src/part-buffers.js";

describe("PartBuffers", () => {
  it("hands back the buffers given back before making new ones", () => {
    const buffers = new PartBuffers(16);
    const first = buffers.take();
    const second = buffers.take();
    expect([first.length, second.length]).toEqual([16, 16]);
    expect(first).not.toBe(second);
    buffers.give(second);
    expect(buffers.take()).toBe(second);
    const third = buffers.take();
    expect(third).not.toBe(first);
    expect(third).not.toBe(second);
  });
});
