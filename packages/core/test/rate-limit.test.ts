import { describe, expect, it } from "vitest";
import { createRateLimiter, limitRate, parseRate } from "../src/io/rate-limit.js";

const MiB = 1024 * 1024;

/** A virtual clock: sleeping moves time forward instead of waiting. */
function virtualClock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
    elapsedSeconds: () => t / 1000,
  };
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of source) bytes += chunk.byteLength;
  return bytes;
}

async function* chunks(count: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) yield new Uint8Array(size);
}

describe("rate limiter", () => {
  it.each([
    [20 * MiB, 512 * 1024, 100],
    [1 * MiB, 64 * 1024, 80],
    [5 * MiB, 4 * MiB, 10],
  ])("holds %d B/s within 10%% for %d-byte chunks", async (rate, size, count) => {
    const clock = virtualClock();
    const limiter = createRateLimiter(rate, clock);
    const bytes = await drain(limitRate(chunks(count, size), [limiter]));
    const achieved = bytes / clock.elapsedSeconds();
    expect(achieved / rate).toBeGreaterThan(0.9);
    expect(achieved / rate).toBeLessThan(1.1);
  });

  it("splits one budget between two operations that share it", async () => {
    const clock = virtualClock();
    const shared = createRateLimiter(10 * MiB, clock);
    const [a, b] = await Promise.all([
      drain(limitRate(chunks(50, 256 * 1024), [shared])),
      drain(limitRate(chunks(50, 256 * 1024), [shared])),
    ]);
    const achieved = (a + b) / clock.elapsedSeconds();
    expect(achieved / (10 * MiB)).toBeGreaterThan(0.9);
    expect(achieved / (10 * MiB)).toBeLessThan(1.1);
  });

  it("applies the stricter of an operation's own limit and the shared one", async () => {
    const clock = virtualClock();
    const own = createRateLimiter(2 * MiB, clock);
    const shared = createRateLimiter(100 * MiB, clock);
    const bytes = await drain(limitRate(chunks(40, 256 * 1024), [own, shared]));
    expect(bytes / clock.elapsedSeconds() / (2 * MiB)).toBeLessThan(1.1);
  });

  it("costs nothing when off, and can be changed while running", async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter(undefined, clock);
    await drain(limitRate(chunks(100, MiB), [limiter, undefined]));
    expect(clock.sleeps).toEqual([]);
    limiter.setRate(4 * MiB);
    await drain(limitRate(chunks(40, 256 * 1024), [limiter]));
    expect(10 / clock.elapsedSeconds() / 4).toBeGreaterThan(0.9);
    limiter.setRate(0);
    expect(limiter.bytesPerSecond).toBeUndefined();
  });

  it("stops waiting when the signal fires", async () => {
    const limiter = createRateLimiter(1024);
    const controller = new AbortController();
    const waiting = limiter.take(10 * MiB, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: "ABORTED" });
  });

  it.each([
    ["50M", 50 * MiB],
    ["512k", 512 * 1024],
    ["1.5G", 1.5 * 1024 * MiB],
    ["20MiB/s", 20 * MiB],
    ["1000", 1000],
    ["0", undefined],
  ])("parses %s", (text, expected) => {
    expect(parseRate(text)).toBe(expected);
  });

  it("refuses a rate it cannot read, saying how to write one", () => {
    expect(() => parseRate("fast")).toThrow(/write it like 50M/);
  });
});
