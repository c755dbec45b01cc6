import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";

/**
 * A temporary folder made before each test and removed after it (names that are not UTF-8 included):
 * `root()` is its path, `fresh(name)` makes a new folder in it.
 */
export function useTempRoot(prefix: string): { root: () => string; fresh: (name: string) => string } {
  let root = "";
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });
  return {
    root: () => root,
    fresh(name) {
      const dir = join(root, name);
      mkdirSync(dir);
      return dir;
    },
  };
}
