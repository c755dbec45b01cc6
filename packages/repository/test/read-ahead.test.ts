import { createMemoryStorage, type GetOptions, type StorageAdapter } from "@strongbox/core";
import { describe, expect, test } from "vitest";
import { initRepository, loadIndex, writeIndexObject } from "../src/index.js";
import { readAhead } from "../src/read-ahead.js";

/** A read whose answer the test gives when it chooses, and which reads are in flight. */
function controlledReads() {
  const pending = new Map<number, { resolve: (value: string) => void; reject: (error: Error) => void }>();
  let most = 0;
  const read = (item: number) =>
    new Promise<string>((resolve, reject) => {
      pending.set(item, { resolve, reject });
      most = Math.max(most, pending.size);
    }).finally(() => pending.delete(item));
  return { read, pending, most: () => most };
}

/** Lets every settled promise's handlers run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("readAhead", () => {
  test("keeps `count` reads in flight and yields in the items' order, whatever order they finish in", async () => {
    const { read, pending, most } = controlledReads();
    const items = Array.from({ length: 20 }, (_, n) => n);
    const results: string[] = [];
    const done = (async () => {
      for await (const result of readAhead(items, read, 3)) results.push(result);
    })();
    await settle();
    expect([...pending.keys()]).toEqual([0, 1, 2]);
    // Finished backwards: nothing is yielded before item 0.
    pending.get(2)!.resolve("two");
    pending.get(1)!.resolve("one");
    await settle();
    expect(results).toEqual([]);
    while (pending.size > 0) {
      const first = Math.min(...pending.keys());
      pending.get(first)!.resolve(["zero", "one", "two"][first] ?? `item ${first}`);
      await settle();
    }
    await done;
    expect(results).toEqual(["zero", "one", "two", ...items.slice(3).map((n) => `item ${n}`)]);
    expect(most()).toBe(3);
  });

  test("a failed read throws when its turn comes, after the items before it", async () => {
    const { read, pending } = controlledReads();
    const results: string[] = [];
    const done = (async () => {
      for await (const result of readAhead([0, 1, 2], read)) results.push(result);
    })();
    await settle();
    pending.get(1)!.reject(new Error("item 1 is damaged"));
    await settle();
    expect(results).toEqual([]);
    pending.get(0)!.resolve("zero");
    await expect(done).rejects.toThrow("item 1 is damaged");
    expect(results).toEqual(["zero"]);
  });

  test("no items, no reads", async () => {
    const { read, most } = controlledReads();
    for await (const _ of readAhead([], read)) throw new Error("nothing to yield");
    expect(most()).toBe(0);
  });
});

describe("loadIndex", () => {
  test("reads index objects several at once; a chunk listed twice keeps the location of the first object", async () => {
    const inner = createMemoryStorage();
    // Index reads finish in the reverse of the order asked, eight at a time: decoding must not follow them.
    const waiting: (() => void)[] = [];
    let left = 0;
    const storage: StorageAdapter = new Proxy(inner, {
      get(target, name) {
        if (name !== "get") return Reflect.get(target, name);
        return async (key: string, options?: GetOptions) => {
          if (key.startsWith("index/")) {
            await new Promise<void>((resolve) => {
              waiting.push(resolve);
              if (waiting.length === Math.min(8, left)) {
                left -= waiting.length;
                for (const release of waiting.splice(0).reverse()) release();
              }
            });
          }
          return target.get(key, options);
        };
      },
    });
    const repo = await initRepository({ storage });
    const chunk = Buffer.alloc(32, 7);
    const locations = new Map<string, { pack: string; offset: number; length: number; rawLength: number }>();
    for (let n = 0; n < 12; n++) {
      const location = { pack: String(n).padStart(32, "0"), offset: n, length: 10, rawLength: 9 };
      locations.set(await writeIndexObject(repo, [[chunk, location]]), location);
    }
    left = 12;
    const { index, objects } = await loadIndex(repo);
    expect(left).toBe(0);
    expect(objects).toEqual([...locations.keys()].sort());
    expect(index.get(chunk)).toEqual(locations.get(objects[0]!));
  });
});
