import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { snapshotTree, type TreeNode } from "../../core/test/helpers/extract-tree.js";
import { useTempDirs } from "../../core/test/helpers/tree.js";
import { createLocalStorage } from "../../storage-local/src/index.js";
import {
  backup,
  initRepository,
  listSnapshots,
  openRepository,
  type Repository,
  restoreSnapshot,
} from "../src/index.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const KiB = 1024;
const tempDir = useTempDirs();

interface ChildResult {
  signal: NodeJS.Signals | null;
  code: number | null;
  last: Record<string, unknown> | undefined;
}

/** Runs the crash child to its end (or its death); its last stdout line parsed. */
async function runChild(args: string[]): Promise<ChildResult> {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=source", FIXTURE, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (part: Buffer) => (stdout += part));
  child.stderr.on("data", (part: Buffer) => (stderr += part));
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  if (code !== 0 && signal !== "SIGKILL") throw new Error(`crash child failed (${code}): ${stderr}`);
  const line = stdout.trim().split("\n").at(-1);
  return { code, signal, last: line ? (JSON.parse(line) as Record<string, unknown>) : undefined };
}

/** Files of random bytes (so every one is its own chunks), some large enough for several packs. */
async function writeFiles(root: string, seed: string, count: number): Promise<void> {
  await mkdir(join(root, "world"), { recursive: true });
  for (let n = 0; n < count; n++) {
    const size = n % 8 === 0 ? 160 * KiB : (4 + (n % 5) * 6) * KiB;
    await writeFile(join(root, n % 2 ? "world" : "", `${seed}-${n}.dat`), randomBytes(size));
  }
}

/** `count` write numbers spread over 1..writes (both ends included). */
function spread(writes: number, count: number): number[] {
  const points = new Set<number>();
  for (let n = 0; n < count; n++) points.add(1 + Math.round((n * (writes - 1)) / (count - 1)));
  return [...points];
}

async function restoresAs(repo: Repository, id: string, tree: Record<string, TreeNode>, dir: string) {
  const target = join(dir, `restore-${id}-${randomBytes(4).toString("hex")}`);
  await restoreSnapshot(repo, id, target, { mode: "truncate" });
  expect(snapshotTree(target)).toEqual(tree);
  await rm(target, { recursive: true, force: true });
}

describe("kill -9", () => {
  test("of a backup at 24 points: every earlier snapshot restores byte-identical, and the next backup works", async () => {
    const dir = await tempDir("strongbox-crash-");
    const source = join(dir, "server");
    const pristine = join(dir, "pristine");
    await writeFiles(source, "first", 24);
    const repo = await initRepository({ storage: createLocalStorage({ root: pristine }) });
    const first = await backup(repo, { source, server: "s1", maxPackBytes: 64 * KiB });
    const firstTree = snapshotTree(source);
    await writeFiles(source, "second", 24);
    const secondTree = snapshotTree(source);

    const whole = join(dir, "whole");
    await cp(pristine, whole, { recursive: true });
    const full = await runChild([whole, "0", "before", "backup", source, "s1"]);
    const writes = full.last?.writes as number;
    expect(writes).toBeGreaterThanOrEqual(12);

    const points = spread(writes, 12).flatMap((at) => [
      [at, "before"],
      [at, "midway"],
    ]) as [number, string][];
    expect(points.length).toBeGreaterThanOrEqual(20);
    for (const [at, how] of points) {
      const work = join(dir, `kill-${at}-${how}`);
      await cp(pristine, work, { recursive: true });
      const run = await runChild([work, String(at), how, "backup", source, "s1"]);
      expect(run.signal, `killed at write ${at} (${how})`).toBe("SIGKILL");

      const crashed = await openRepository({ storage: createLocalStorage({ root: work }) });
      const snapshots = await listSnapshots(crashed);
      expect(snapshots[0]!.id).toBe(first.id);
      await restoresAs(crashed, first.id, firstTree, dir);
      // Killed after its snapshot was stored (only the lock's removal left): that snapshot is whole too.
      for (const later of snapshots.slice(1)) await restoresAs(crashed, later.id, secondTree, dir);

      // The dead backup's lock does not stop the next one, which stores everything again.
      const again = await backup(crashed, { source, server: "s1" });
      await restoresAs(crashed, again.id, secondTree, dir);
      await rm(work, { recursive: true, force: true });
    }
  }, 300_000);
});
