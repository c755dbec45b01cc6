import { execFileSync } from "node:child_process";
import { appendFileSync, rmSync, truncateSync, unlinkSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { packToFile } from "../src/archive/pack/pack-file.js";
import { PACK_BLOCK_SIZE, PACK_BLOCKS_IN_FLIGHT } from "../src/archive/pack/pack-worker-protocol.js";
import type { ArchiveWarning, PackOptions, PackResult } from "../src/archive/types.js";
import { run, sha256sum, tarExtract, tarList, useTempDirs } from "./helpers/tree.js";

const tempDir = useTempDirs();

/**
 * Changes happen in the first `onProgress` call, which is deterministic: progress for a block is
 * reported before the main thread takes that block, and the worker never gets more than
 * PACK_BLOCKS_IN_FLIGHT blocks ahead of what was taken (plus the one it is filling). With `a-big`
 * first and larger than that, the worker is still inside `a-big` (header written, size fixed) and has
 * not reached `b-small` or `c-dir` when the callback runs.
 */
const BIG_SIZE = (PACK_BLOCKS_IN_FLIGHT + 4) * PACK_BLOCK_SIZE;
const BIG_CONTENT = Buffer.from(Array.from({ length: BIG_SIZE }, (_, i) => (i * 31 + 7) % 251));

async function buildRacyTree(root: string): Promise<void> {
  await writeFile(join(root, "a-big"), BIG_CONTENT);
  await writeFile(join(root, "b-small"), "small file\n");
  await mkdir(join(root, "c-dir"));
  await writeFile(join(root, "c-dir/inner"), "inner\n");
  await writeFile(join(root, "d-last"), "last\n");
}

interface Packed {
  archive: string;
  result: PackResult;
  warnings: ArchiveWarning[];
}

/** Packs `root`, running `change` once, in the first progress report. */
async function packWhile(root: string, change: () => void, options: PackOptions = {}): Promise<Packed> {
  const archive = join(await tempDir(), "racy.tar.gz");
  const warnings: ArchiveWarning[] = [];
  let changed = false;
  const result = await packToFile(root, archive, {
    ...options,
    onWarning: (w) => warnings.push(w),
    onProgress: () => {
      if (changed) return;
      changed = true;
      change();
    },
  });
  expect(changed).toBe(true);
  return { archive, result, warnings };
}

/** GNU tar reads the archive without a word, its checksum holds, and the untouched files are intact. */
async function expectIntactArchive(packed: Packed): Promise<string> {
  expect(packed.result.checksum).toBe(`sha256:${await sha256sum(packed.archive)}`);
  const out = await tempDir();
  expect(await tarExtract(packed.archive, out)).toBe("");
  expect(await readFile(join(out, "d-last"), "utf8")).toBe("last\n");
  return out;
}

describe("sources that change while packed", () => {
  test("a file that shrinks keeps its header size, padded with zeros", async () => {
    const root = await tempDir();
    await buildRacyTree(root);
    const packed = await packWhile(root, () => truncateSync(join(root, "a-big"), 1000));

    expect(packed.warnings).toEqual([expect.objectContaining({ code: "FILE_CHANGED", path: "a-big" })]);
    const out = await expectIntactArchive(packed);
    const big = await readFile(join(out, "a-big"));
    expect(big.length).toBe(BIG_SIZE);
    expect(big.subarray(0, 1000)).toEqual(BIG_CONTENT.subarray(0, 1000));
    const unreachedTail = big.subarray((PACK_BLOCKS_IN_FLIGHT + 1) * PACK_BLOCK_SIZE);
    expect(unreachedTail.every((byte) => byte === 0)).toBe(true);
    expect(await readFile(join(out, "b-small"), "utf8")).toBe("small file\n");
    expect(packed.result.sourceBytes).toBe(BIG_SIZE + 11 + 6 + 5);
  });

  test("a file that grows is cut at its header size", async () => {
    const root = await tempDir();
    await buildRacyTree(root);
    const packed = await packWhile(root, () =>
      appendFileSync(join(root, "a-big"), Buffer.alloc(1 << 20, 0xee)),
    );

    expect(packed.warnings).toEqual([expect.objectContaining({ code: "FILE_CHANGED", path: "a-big" })]);
    const out = await expectIntactArchive(packed);
    expect((await readFile(join(out, "a-big"))).equals(BIG_CONTENT)).toBe(true);
    expect(await readFile(join(out, "b-small"), "utf8")).toBe("small file\n");
  });

  test("a file and a folder deleted before they are reached are skipped, everything else archived", async () => {
    const root = await tempDir();
    await buildRacyTree(root);
    const packed = await packWhile(root, () => {
      unlinkSync(join(root, "b-small"));
      rmSync(join(root, "c-dir"), { recursive: true });
    });

    expect(packed.warnings).toEqual([
      expect.objectContaining({ code: "FILE_VANISHED", path: "b-small" }),
      expect.objectContaining({ code: "FILE_VANISHED", path: "c-dir" }),
    ]);
    expect(packed.result).toMatchObject({ files: 2, directories: 0, skipped: 2 });
    const out = await expectIntactArchive(packed);
    expect((await readFile(join(out, "a-big"))).equals(BIG_CONTENT)).toBe(true);
    expect((await tarList(packed.archive)).names).toEqual(["a-big", "d-last"]);
  });

  test("a file swapped for a fifo is skipped, never opened for a blocking read", async () => {
    const root = await tempDir();
    await buildRacyTree(root);
    const packed = await packWhile(root, () => {
      unlinkSync(join(root, "b-small"));
      execFileSync("mkfifo", [join(root, "b-small")]);
    });

    expect(packed.warnings).toEqual([expect.objectContaining({ code: "FILE_CHANGED", path: "b-small" })]);
    expect(packed.result.skipped).toBe(1);
    await expectIntactArchive(packed);
  });
});

describe("paths that cannot be archived", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  test("fifos, sockets and devices are skipped with a warning", async () => {
    const root = await tempDir();
    await writeFile(join(root, "a.txt"), "a");
    await run("mkfifo", [join(root, "fifo")]);
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(join(root, "socket"), resolve));
    // Device nodes need root; without it the fifo and socket still cover the rule.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await run("mknod", [join(root, "null-device"), "c", "1", "3"]);
    const warnings: ArchiveWarning[] = [];
    const archive = join(await tempDir(), "special.tar.gz");

    const result = await packToFile(root, archive, { onWarning: (w) => warnings.push(w) });

    const expected = [
      { code: "SPECIAL_FILE_SKIPPED", path: "fifo" },
      ...(asRoot ? [{ code: "SPECIAL_FILE_SKIPPED", path: "null-device" }] : []),
      { code: "SPECIAL_FILE_SKIPPED", path: "socket" },
    ];
    expect(warnings.map(({ code, path }) => ({ code, path }))).toEqual(expected);
    expect(result.skipped).toBe(expected.length);
    expect((await tarList(archive)).names).toEqual(["a.txt"]);
  });
});
