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
  checkRepository,
  forgetSnapshots,
  initRepository,
  listSnapshots,
  loadIndex,
  openRepository,
  prune,
  type Repository,
  restoreSnapshot,
} from "../src/index.js";
import { noise } from "./fixtures/noise.js";

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

/**
 * Files of incompressible bytes, each its own chunks, some large enough for several packs; the same on
 * every run, so the writes a backup or prune makes (the kill points) are the same too.
 */
async function writeFiles(root: string, seed: string, count: number): Promise<void> {
  await mkdir(join(root, "world"), { recursive: true });
  for (let n = 0; n < count; n++) {
    const size = n % 8 === 0 ? 160 * KiB : (4 + (n % 5) * 6) * KiB;
    await writeFile(join(root, n % 2 ? "world" : "", `${seed}-${n}.dat`), noise(`${seed}-${n}`, size));
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

describe("many writers", () => {
  test("4 processes back up 4 servers into one repository at once; prune and check after", async () => {
    const dir = await tempDir("strongbox-writers-");
    const store = join(dir, "store");
    const template = join(dir, "template");
    await writeFiles(template, "modpack", 16);
    const repo = await initRepository({ storage: createLocalStorage({ root: store }) });
    const servers = ["alpha", "beta", "gamma", "delta"];
    const trees: Record<string, Record<string, TreeNode>> = {};
    for (const server of servers) {
      const root = join(dir, "servers", server);
      await cp(template, root, { recursive: true });
      await writeFiles(join(root, "world-own"), server, 12);
      trees[server] = snapshotTree(root);
    }
    const runs = await Promise.all(
      servers.map((server) =>
        runChild([store, "0", "before", "backup", join(dir, "servers", server), server]),
      ),
    );
    for (const run of runs) expect(run.code).toBe(0);

    const pruned = await prune(repo);
    expect(pruned.packsDeleted + pruned.packsRepacked).toBeGreaterThanOrEqual(0);
    const report = await checkRepository(repo, { readData: "all" });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const snapshots = await listSnapshots(repo);
    expect(snapshots.map((snapshot) => snapshot.server).sort()).toEqual([...servers].sort());
    for (const snapshot of snapshots) await restoresAs(repo, snapshot.id, trees[snapshot.server]!, dir);
    // The template's chunks were stored once or a few times (writers racing), never kept twice after prune.
    const { index } = await loadIndex(repo);
    expect(index.size).toBe(report.chunks);
  }, 300_000);
});

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
      const report = await checkRepository(crashed, { readData: "all" });
      expect(report.problems, `killed at write ${at} (${how})`).toEqual([]);
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

describe("kill -9 of a prune", () => {
  test("at 24 points: check passes, every snapshot restores byte-identical, and the next prune finishes", async () => {
    const dir = await tempDir("strongbox-crash-prune-");
    const source = join(dir, "server");
    const pristine = join(dir, "pristine");
    const repo = await initRepository({ storage: createLocalStorage({ root: pristine }) });
    await writeFiles(source, "day1", 24);
    const day1 = await backup(repo, { source, server: "s1", maxPackBytes: 64 * KiB });
    await rm(join(source, "world"), { recursive: true });
    await writeFiles(source, "day2", 16);
    const day2 = await backup(repo, { source, server: "s1", maxPackBytes: 64 * KiB });
    const day2Tree = snapshotTree(source);
    await writeFiles(source, "day3", 8);
    const day3 = await backup(repo, { source, server: "s1", maxPackBytes: 64 * KiB });
    const day3Tree = snapshotTree(source);
    await forgetSnapshots(repo, [day1.id]);

    const whole = join(dir, "whole");
    await cp(pristine, whole, { recursive: true });
    const full = await runChild([whole, "0", "before", "prune"]);
    const writes = full.last?.writes as number;
    expect(writes).toBeGreaterThanOrEqual(12);

    const points = spread(writes, 12).flatMap((at) => [
      [at, "before"],
      [at, "midway"],
    ]) as [number, string][];
    for (const [at, how] of points) {
      const work = join(dir, `kill-${at}-${how}`);
      await cp(pristine, work, { recursive: true });
      const run = await runChild([work, String(at), how, "prune"]);
      expect(run.signal, `killed at write ${at} (${how})`).toBe("SIGKILL");

      const crashed = await openRepository({ storage: createLocalStorage({ root: work }) });
      const report = await checkRepository(crashed, { readData: "all" });
      expect(report.problems, `killed at write ${at} (${how})`).toEqual([]);
      await restoresAs(crashed, day2.id, day2Tree, dir);
      await restoresAs(crashed, day3.id, day3Tree, dir);
      // The dead prune's lock is stale (its pid is gone): the next prune takes over and finishes.
      await prune(crashed, { repackThreshold: 0.1 });
      expect((await checkRepository(crashed, { readData: "all" })).problems).toEqual([]);
      await restoresAs(crashed, day3.id, day3Tree, dir);
      await rm(work, { recursive: true, force: true });
    }
  }, 600_000);
});
