import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { executeSwap, planTruncate, type SwapFolders, swapIn } from "../src/archive/staging/staging-swap.js";
import { SwapJournal } from "../src/archive/staging/swap-journal.js";
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
  makeTrees();
});

function makeTrees(): void {
  const { target } = folders;
  mkdirSync(join(folders.staging, "dir"), { recursive: true });
  mkdirSync(join(target, "dir"), { recursive: true });
  writeFileSync(join(target, "old.txt"), "old");
  writeFileSync(join(target, "dir/old.txt"), "old");
  writeFileSync(join(folders.staging, "new.txt"), "new");
  writeFileSync(join(folders.staging, "dir/new.txt"), "new");
}

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const content = () => snapshotTree(folders.target, (path) => path.startsWith(".strongbox-"));
const staged = () => snapshotTree(folders.staging);
/** A snapshot without mtimes: moving entries out of a folder and back changes the folder's. */
const shape = (tree: ReturnType<typeof snapshotTree>) =>
  Object.fromEntries(Object.entries(tree).map(([path, { mtime: _mtime, ...rest }]) => [path, rest]));
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** A rename that throws on its `n`th call (1-based) and renames otherwise. */
function failingAt(n: number): { rename: (from: string, to: string) => void; calls: () => number } {
  let calls = 0;
  return {
    rename(from, to) {
      if (++calls === n) throw Object.assign(new Error(`move ${n} failed`), { code: "EIO" });
      renameSync(from, to);
    },
    calls: () => calls,
  };
}

test("truncate plans every old entry aside before the staged ones go in", () => {
  const plan = planTruncate(folders);
  const paths = (kind: string) => plan.moves.filter((m) => m.kind === kind).map((m) => m.path);
  expect(plan.moves.map((m) => m.kind)).toEqual(["aside", "aside", "in", "in"]);
  expect(paths("aside").sort()).toEqual(["dir", "old.txt"]);
  expect(paths("in").sort()).toEqual(["dir", "new.txt"]);
});

test("a failing truncate move undoes the moves made before it, so the target is as it was", () => {
  const before = content();
  const plan = planTruncate(folders);
  // The last move's staged entry vanishes between planning and moving.
  const last = plan.moves.at(-1);
  rmSync(join(folders.staging, last?.path ?? ""), { recursive: true });
  expect(() => executeSwap(folders, plan)).toThrow();
  expect(content()).toEqual(before);
  expect(readdirSync(folders.aside)).toEqual([]);
  expect(readdirSync(folders.staging).sort()).toEqual(["dir", "new.txt"].filter((n) => n !== last?.path));
});

describe("merge", () => {
  /** Replaced: a file by a file, a file by a folder, a folder by a file; and a folder only staged. */
  function addMergeCases(): void {
    writeFileSync(join(folders.target, "dir/both.txt"), "old both");
    writeFileSync(join(folders.staging, "dir/both.txt"), "new both");
    writeFileSync(join(folders.target, "was-file"), "file");
    mkdirSync(join(folders.staging, "was-file"));
    writeFileSync(join(folders.staging, "was-file/inside.txt"), "inside");
    mkdirSync(join(folders.target, "was-dir"));
    writeFileSync(join(folders.target, "was-dir/x"), "x");
    writeFileSync(join(folders.staging, "was-dir"), "now a file");
    mkdirSync(join(folders.staging, "fresh/deeper"), { recursive: true });
    writeFileSync(join(folders.staging, "fresh/deeper/f.txt"), "f");
  }

  test("recurses into folders present on both sides and replaces every other staged entry", () => {
    addMergeCases();
    const merged = swapIn(folders, "merge", undefined);
    expect([...merged]).toEqual(["dir"]);
    const tree = content();
    expect(Object.keys(tree).sort()).toEqual(
      [
        ...["dir", "dir/both.txt", "dir/new.txt", "dir/old.txt", "fresh", "fresh/deeper"],
        ...["fresh/deeper/f.txt", "new.txt", "old.txt", "was-dir", "was-file", "was-file/inside.txt"],
      ].sort(),
    );
    expect(tree["dir/both.txt"]?.digest).toBe(sha256("new both"));
    expect(tree["was-dir"]?.type).toBe("file");
    // The journal is gone with the moves; only the emptied staging folders remain for the caller.
    expect(readdirSync(folders.staging)).toEqual(["dir"]);
  });

  test("a failing move at any point puts every moved entry back, so target and staging are as they were", () => {
    addMergeCases();
    const targetBefore = shape(content());
    const stagedBefore = shape(staged());
    const count = failingAt(0);
    swapIn(folders, "merge", undefined, undefined, count.rename);
    // 6 staged entries moved in, 3 old ones set aside first.
    expect(count.calls()).toBe(9);

    for (let n = 1; n <= 9; n++) {
      rmSync(folders.target, { recursive: true });
      makeTrees();
      addMergeCases();
      expect(() => swapIn(folders, "merge", undefined, undefined, failingAt(n).rename)).toThrow(
        `move ${n} failed`,
      );
      expect(shape(content())).toEqual(targetBefore);
      expect(shape(staged())).toEqual(stagedBefore);
      expect(readdirSync(folders.aside)).toEqual([]);
    }
  });

  test("undoes thousands of moves from its journal file, read back in slices", () => {
    for (let i = 0; i < 3000; i++) {
      const name = `dir/${"ü".repeat(i % 40)}-${i}.txt`;
      writeFileSync(join(folders.staging, name), "new");
      if (i % 2 === 0) writeFileSync(join(folders.target, name), "old");
    }
    const targetBefore = shape(content());
    const stagedBefore = shape(staged());
    // Of about 4500 moves; the 2500th comes after well over 64 KiB of journal.
    expect(() => swapIn(folders, "merge", undefined, undefined, failingAt(2500).rename)).toThrow(
      "move 2500 failed",
    );
    expect(shape(content())).toEqual(targetBefore);
    expect(shape(staged())).toEqual(stagedBefore);
  });
});

test("the journal replays every record, in order, across read slices and batches", () => {
  const journal = new SwapJournal(join(root, "journal"));
  const records = Array.from({ length: 5000 }, (_, i) => ({
    path: `${"日本".repeat(i % 50)}/${i}\nline`,
    aside: i % 3 === 0 ? undefined : String(i),
  }));
  for (const record of records) journal.record(record);
  // Written in batches as it grows, not held until the end.
  expect(statSync(join(root, "journal")).size).toBeGreaterThan(200_000);
  expect([...journal.replay()]).toEqual(records);
  journal.dispose();
  expect(readdirSync(root)).toEqual(["target"]);
});
