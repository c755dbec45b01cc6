import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createMemoryStorage, isStrongboxError } from "@strongbox/core";
import { describe, expect, test } from "vitest";
import { useTempDirs } from "../../core/test/helpers/tree.js";
import { createChunkStream } from "../src/chunk-stream.js";
import { ChunkWorkers, type FileChunks, type FileEnd } from "../src/chunk-workers.js";
import { ChunkIndex, initRepository, type Repository } from "../src/index.js";
import { openBlob } from "../src/packs.js";
import { noise } from "./fixtures/noise.js";

const KDF = { N: 2 ** 10, r: 8, p: 1 };
const MiB = 1024 * 1024;
const tempDir = useTempDirs();

interface Taken {
  ids: string[];
  chunks: Buffer[];
  end: FileEnd;
}

/** Takes a file's pieces to its end, opening every blob as a restore would (authenticated, inflated, hashed). */
async function takeAll(repo: Repository, file: FileChunks): Promise<Taken> {
  const taken: Taken = { ids: [], chunks: [], end: { size: -1 } };
  for (;;) {
    const next = await file.next();
    if ("end" in next) {
      taken.end = next.end;
      return taken;
    }
    const { piece } = next;
    for (let n = 0; n < piece.count; n++) {
      const id = Buffer.from(piece.id(n));
      const blob = Buffer.from(piece.blob(n));
      const location = { pack: "p", offset: 0, length: blob.length, rawLength: piece.rawLength(n) };
      taken.ids.push(id.toString("hex"));
      taken.chunks.push(await openBlob(repo, id, location, blob));
    }
    piece.release();
  }
}

/** The ids of the chunks the repository's own chunker cuts `bytes` into, on this thread. */
function expectedIds(repo: Repository, bytes: Buffer): string[] {
  const stream = createChunkStream(repo.createChunker());
  const chunks = [...stream.push(bytes)];
  const last = stream.end();
  if (last) chunks.push(last);
  return chunks.map((chunk) => repo.chunkId(chunk));
}

/** A temp folder, a repository in memory, and `threads` chunk workers on it, closed after `body`. */
async function withWorkers(
  threads: number,
  body: (setup: { dir: string; repo: Repository; workers: ChunkWorkers }) => Promise<void>,
  password?: string,
): Promise<void> {
  const dir = await tempDir("strongbox-workers-");
  const repo = await initRepository({
    storage: createMemoryStorage(),
    ...(password ? { password, kdf: KDF } : {}),
  });
  const workers = new ChunkWorkers(repo, { threads });
  try {
    await body({ dir, repo, workers });
  } finally {
    await workers.close();
  }
}

describe.each([
  ["without a password", undefined],
  ["with a password", "pw"],
])("chunk workers, %s", (_name, password) => {
  test("cut, name and seal files as the repository does, each file's chunks in order whatever thread read it", async () => {
    await withWorkers(
      3,
      async ({ dir, repo, workers }) => {
        // Sizes from empty to several messages' worth; text that deflates, noise that does not.
        const files = [0, 1, 4095, 70_000, 3 * MiB, 200_000, 5 * MiB + 7].map((size, n) => {
          const bytes =
            n % 2 === 0
              ? noise(`file ${n}`, size)
              : Buffer.from("level-name=world\nmotd=A server\n".repeat(size / 16 + 1)).subarray(0, size);
          return { path: join(dir, `file-${n}`), bytes };
        });
        for (const file of files) await writeFile(file.path, file.bytes);
        // All given at once, so the threads read ahead; taken in the order given, as a backup takes them.
        const reads = files.map((file) => workers.read(file.path, file.bytes.length));
        for (const [n, file] of files.entries()) {
          const { ids, chunks, end } = await takeAll(repo, reads[n]!);
          expect(end).toEqual({ size: file.bytes.length });
          expect(ids).toEqual(expectedIds(repo, file.bytes));
          expect(Buffer.concat(chunks).equals(file.bytes)).toBe(true);
        }
        expect(workers.heldBytes).toBe(0);
      },
      password,
    );
  });
});

describe("chunk workers", () => {
  test("say why a file could not be read: gone, a symlink, not a regular file", async () => {
    await withWorkers(2, async ({ dir, repo, workers }) => {
      await writeFile(join(dir, "target.txt"), "data");
      await symlink(join(dir, "target.txt"), join(dir, "link"));
      await mkdir(join(dir, "folder"));
      execFileSync("mkfifo", [join(dir, "fifo")]);
      const end = async (name: string) => (await takeAll(repo, workers.read(join(dir, name), 0))).end;
      expect(await end("gone")).toEqual({ problem: "open", code: "ENOENT" });
      expect(await end("link")).toEqual({ problem: "open", code: "ELOOP" });
      // Opened without blocking (O_NONBLOCK), then refused by fstat: a fifo never stalls a backup.
      expect(await end("fifo")).toEqual({ problem: "not-a-file" });
      expect(await end("folder")).toEqual({ problem: "not-a-file" });
      expect(await end("target.txt")).toEqual({ size: 4 });
    });
  });

  test("a thread stops at its credits (8 messages of a MiB) while its file is not taken", async () => {
    await withWorkers(2, async ({ dir, repo, workers }) => {
      await writeFile(join(dir, "waiting"), noise("waiting", 40 * MiB));
      await writeFile(join(dir, "taken"), noise("taken", 40 * MiB));
      // One thread each: while the second file is read and taken whole, the first one's thread has the
      // same time to run ahead; unbounded, it would hold most of its 40 MiB by then.
      const waiting = workers.read(join(dir, "waiting"), 40 * MiB);
      const taken = await takeAll(repo, workers.read(join(dir, "taken"), 40 * MiB));
      expect(taken.end).toEqual({ size: 40 * MiB });
      expect(workers.heldBytes).toBeLessThanOrEqual(8 * MiB);
      const rest = await takeAll(repo, waiting);
      expect(rest.end).toEqual({ size: 40 * MiB });
      expect(Buffer.concat(rest.chunks).equals(noise("waiting", 40 * MiB))).toBe(true);
      expect(workers.heldBytes).toBe(0);
    });
  });

  test("chunks the index holds come as ids alone, with no bytes; the others deflated; later adds sent whole", async () => {
    const dir = await tempDir("strongbox-workers-");
    const repo = await initRepository({ storage: createMemoryStorage() });
    const text = Buffer.from("motd=A Minecraft Server\nmax-players=20\n".repeat(20_000));
    await writeFile(join(dir, "held.properties"), text);
    await writeFile(join(dir, "new.properties"), Buffer.concat([Buffer.from("new\n"), text]).reverse());
    const later = Buffer.from("level-seed=8675309\nspawn-protection=16\n".repeat(20_000));
    await writeFile(join(dir, "added-later.properties"), later);
    const known = new ChunkIndex();
    // Many ids besides, so the table's probe paths are long enough to matter.
    for (let n = 0; n < 5_000; n++)
      known.add(randomBytes(32), { pack: "p", offset: 0, length: 1, rawLength: 1 });
    for (const id of expectedIds(repo, text))
      known.add(Buffer.from(id, "hex"), { pack: "p", offset: 0, length: 1, rawLength: 1 });
    const workers = new ChunkWorkers(repo, { threads: 1, known });
    try {
      const stored = async (name: string) => {
        const file = workers.read(join(dir, name), text.length);
        const sizes: [number, number][] = [];
        for (let next = await file.next(); "piece" in next; next = await file.next()) {
          for (let n = 0; n < next.piece.count; n++)
            sizes.push([next.piece.blob(n).length, next.piece.rawLength(n)]);
          next.piece.release();
        }
        return sizes;
      };
      const held = await stored("held.properties");
      expect(held.length).toBe(expectedIds(repo, text).length);
      for (const [blob, raw] of held) {
        expect(blob).toBe(0);
        expect(raw).toBeGreaterThan(0);
      }
      for (const [blob, raw] of await stored("new.properties")) expect(blob).toBeLessThan(raw / 4);
      // Shared when the thread started: chunks the index gains afterwards still come whole.
      for (const id of expectedIds(repo, later))
        known.add(Buffer.from(id, "hex"), { pack: "q", offset: 0, length: 1, rawLength: 1 });
      const laterSizes = await stored("added-later.properties");
      expect(laterSizes.length).toBe(expectedIds(repo, later).length);
      for (const [blob] of laterSizes) expect(blob).toBeGreaterThan(0);
    } finally {
      await workers.close();
    }
  });

  test("closing fails the files not yet read with ABORTED", async () => {
    await withWorkers(1, async ({ dir, repo, workers }) => {
      await writeFile(join(dir, "big"), noise("big", 20 * MiB));
      const file = workers.read(join(dir, "big"), 20 * MiB);
      await workers.close();
      const error = await takeAll(repo, file).catch((e: unknown) => e);
      expect(isStrongboxError(error, "ABORTED")).toBe(true);
      expect(() => workers.read(join(dir, "big"), 1)).toThrow(/closed/);
    });
  });
});
