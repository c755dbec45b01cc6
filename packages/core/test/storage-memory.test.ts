import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/index.js";
import { describeStorageContract } from "../src/testing/index.js";

describeStorageContract(
  "memory",
  async () => ({ adapter: createMemoryStorage({ pageSize: 2 }), listPageSize: 2, partSize: 1024 * 1024 }),
  { downloadUrls: false },
);

describe("createMemoryStorage", () => {
  it("refuses a page size that is not a whole number above 0", () => {
    for (const pageSize of [0, -1, 1.5]) {
      expect(() => createMemoryStorage({ pageSize })).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT" }),
      );
    }
  });
});
