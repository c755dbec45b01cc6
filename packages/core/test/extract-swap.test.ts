import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { executeSwap, planSwap, type SwapFolders } from "../src/archive/staging-swap.js";
import { snapshotTree } from "./helpers/extract-tree.js";

let folders: SwapFolders;
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "strongbox-swap-"));
  const target = join(root, "target");
  folders = {
    target,
    staging: join(target, ".strongbox-staging-x"),
    aside: join(target, ".strongbox-aside-x"),
  };
  mkdirSync(join(folders.staging, "dir"), { recursive: true });
  mkdirSync(join(target, "dir"), { recursive: true });
  writeFileSync(join(target, "old.txt"), "old");
  writeFileSync(join(target, "dir/old.txt"), "old");
  writeFileSync(join(folders.staging, "new.txt"), "new");
  writeFileSync(join(folders.staging, "dir/new.txt"), "new");
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const content = () => snapshotTree(folders.target, (path) => path.startsWith(".strongbox-"));

test("truncate plans every old entry aside before the staged ones go in", () => {
  const plan = planSwap(folders, "truncate", undefined);
  const paths = (kind: string) => plan.moves.filter((m) => m.kind === kind).map((m) => m.path);
  expect(plan.moves.map((m) => m.kind)).toEqual(["aside", "aside", "in", "in"]);
  expect(paths("aside").sort()).toEqual(["dir", "old.txt"]);
  expect(paths("in").sort()).toEqual(["dir", "new.txt"]);
});

test("merge recurses into folders present on both sides", () => {
  const plan = planSwap(folders, "merge", undefined);
  expect(plan.moves.map((m) => `${m.kind}:${m.path}`).sort()).toEqual(["in:dir/new.txt", "in:new.txt"]);
  expect([...plan.merged]).toEqual(["dir"]);
});

test("a failing move undoes the moves made before it, so the target is as it was", () => {
  const before = content();
  const plan = planSwap(folders, "truncate", undefined);
  // The last move's staged entry vanishes between planning and moving.
  const last = plan.moves.at(-1);
  rmSync(join(folders.staging, last?.path ?? ""), { recursive: true });
  expect(() => executeSwap(folders, plan)).toThrow();
  expect(content()).toEqual(before);
  expect(readdirSync(folders.aside)).toEqual([]);
  expect(readdirSync(folders.staging).sort()).toEqual(["dir", "new.txt"].filter((n) => n !== last?.path));
});
