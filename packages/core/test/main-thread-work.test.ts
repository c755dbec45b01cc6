import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { type ArchiveWorkers, createArchiveWorkers } from "../src/archive/archive-workers.js";
import { packToFile } from "../src/archive/pack/pack-file.js";
import { sha256sum, useTempDirs } from "./helpers/tree.js";

/** Bytes this thread hashed, CRC'd or deflated through node:crypto and node:zlib, by function. */
const perByte = vi.hoisted(() => new Map<string, number>());
const count = (name: string, bytes: { byteLength: number } | string | undefined) => {
  const length = typeof bytes === "string" ? bytes.length : (bytes?.byteLength ?? 0);
  perByte.set(name, (perByte.get(name) ?? 0) + length);
};

// Only this thread's modules see these wrappers: worker threads load the real ones, so whatever they
// count was done on the main thread.
vi.mock("node:crypto", async (importOriginal) => {
  const crypto = await importOriginal<typeof import("node:crypto")>();
  return {
    ...crypto,
    createHash: (...args: Parameters<typeof crypto.createHash>) => {
      const hash = crypto.createHash(...args);
      const update = hash.update.bind(hash) as (data: string | NodeJS.ArrayBufferView) => typeof hash;
      return Object.assign(hash, {
        update: (data: string | NodeJS.ArrayBufferView) => {
          count("createHash().update", data);
          return update(data);
        },
      });
    },
  };
});
vi.mock("node:zlib", async (importOriginal) => {
  const zlib = await importOriginal<typeof import("node:zlib")>();
  const counted =
    (name: string, f: (...args: never[]) => unknown) =>
    (...args: unknown[]) => {
      count(name, args[0] as { byteLength: number });
      return (f as (...args: unknown[]) => unknown)(...args);
    };
  return {
    ...zlib,
    crc32: counted("crc32", zlib.crc32),
    deflateRaw: counted("deflateRaw", zlib.deflateRaw),
    deflateRawSync: counted("deflateRawSync", zlib.deflateRawSync),
  };
});

const tempDir = useTempDirs();
const MiB = 1024 * 1024;
let workers: ArchiveWorkers | undefined;
afterEach(async () => {
  await workers?.close();
  workers = undefined;
});

describe("the main thread during a pack", () => {
  test("hashes, CRCs and deflates no byte of the archive: the workers do", async () => {
    const root = await tempDir();
    await mkdir(join(root, "world"));
    for (let i = 0; i < 3; i++) await writeFile(join(root, "world", `r.${i}.mca`), randomBytes(3 * MiB));
    await writeFile(join(root, "latest.log"), "[12:00:00 INFO]: Saving the world\n".repeat(100_000));
    workers = createArchiveWorkers({ threads: 2 });
    const archive = join(await tempDir(), "backup.tar.gz");
    perByte.clear();

    const result = await packToFile(root, archive, { workers, level: 6 });

    expect(Object.fromEntries(perByte)).toEqual({});
    // The checksum still covers the archive exactly as written (computed in the pack worker).
    expect(result.checksum).toBe(`sha256:${await sha256sum(archive)}`);
    expect(result.files).toBe(4);
  });
});
