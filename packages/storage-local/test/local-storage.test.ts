import { fork, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLocalStorage, type LocalStorage } from "../src/index.js";
import { tempNameFor } from "../src/temp-files.js";

let root: string;
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "strongbox-local-"));
  outside = await mkdtemp(join(tmpdir(), "strongbox-outside-"));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

async function keys(storage: LocalStorage, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const info of storage.list(prefix)) found.push(info.key);
  return found;
}

async function* failingAfter(bytes: number, error: Error): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(bytes).fill(1);
  throw error;
}

describe("atomic writes", () => {
  it("streams into a hidden temp file beside the object and renames it when complete", async () => {
    const storage = createLocalStorage({ root });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached!: () => void;
    const writing = new Promise<void>((resolve) => {
      reached = resolve;
    });
    async function* body(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1000).fill(2);
      reached();
      await gate;
      yield new Uint8Array(24).fill(3);
    }
    const put = storage.put("srv/b.tar.gz", body());
    await writing;
    const during = await readdir(join(root, "srv"));
    expect(during).toHaveLength(1);
    expect(during[0]).toMatch(/^\.b\.tar\.gz\.strongbox-tmp~/);
    expect(await storage.stat("srv/b.tar.gz")).toBeUndefined();
    expect(await keys(storage)).toEqual([]);
    release();
    expect(await put).toMatchObject({ key: "srv/b.tar.gz", size: 1024 });
    expect(await readdir(join(root, "srv"))).toEqual(["b.tar.gz"]);
  });

  it("removes its temp file when the source fails half-way", async () => {
    const storage = createLocalStorage({ root });
    await expect(
      storage.put("srv/b.tar.gz", failingAfter(4096, new Error("archiver broke"))),
    ).rejects.toMatchObject({
      code: "STORAGE_ERROR",
    });
    expect(await readdir(join(root, "srv"))).toEqual([]);
  });

  it("reports a full disk as INSUFFICIENT_SPACE and leaves no object or temp file", async () => {
    const storage = createLocalStorage({ root });
    const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    await expect(storage.put("srv/b.tar.gz", failingAfter(4096, full))).rejects.toMatchObject({
      code: "INSUFFICIENT_SPACE",
    });
    expect(await readdir(join(root, "srv"))).toEqual([]);
    expect(await storage.stat("srv/b.tar.gz")).toBeUndefined();
  });

  it("leaves no object and no temp file after a writer is killed mid-write and storage starts again", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));
    const child = fork(fixture, [root, "srv/crash.tar.gz"], {
      execArgv: ["--conditions=source", "--import", "tsx"],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const message = await Promise.race([new Promise((resolve) => child.once("message", resolve)), exited]);
    expect(message, stderr).toBe("writing");
    const during = await readdir(join(root, "srv"));
    expect(during).toHaveLength(1);
    child.kill("SIGKILL");
    await exited;

    const restarted = createLocalStorage({ root });
    expect(await restarted.stat("srv/crash.tar.gz")).toBeUndefined();
    expect(await readdir(join(root, "srv"))).toEqual([]);
  });

  it("sweeps temp files of dead or long-silent writers on first use and keeps a live writer's", async () => {
    await mkdir(join(root, "srv"));
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
    const withPid = (pid: number) => tempNameFor("x.tar.gz").replace(/-\d+-([0-9a-f]+)$/, `-${pid}-$1`);
    const dead = withPid(deadPid);
    const live = withPid(process.ppid);
    const silent = withPid(process.ppid);
    for (const name of [dead, live, silent]) await writeFile(join(root, "srv", name), "partial");
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(join(root, "srv", silent), twoDaysAgo, twoDaysAgo);

    expect(await keys(createLocalStorage({ root }))).toEqual([]);
    expect(await readdir(join(root, "srv"))).toEqual([live]);
  });
});

describe("reads", () => {
  /** The bytes of `key`, and the sizes of the buffers the read allocated meanwhile. */
  async function readCounting(storage: LocalStorage, key: string) {
    const allocations = vi.spyOn(Buffer, "allocUnsafeSlow");
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of await storage.get(key)) chunks.push(chunk as Buffer);
      return { bytes: Buffer.concat(chunks), allocated: allocations.mock.calls.map(([size]) => size) };
    } finally {
      allocations.mockRestore();
    }
  }

  it("reads a small object into a buffer of its size, not a 64 KiB one and another to find the end", async () => {
    const storage = createLocalStorage({ root });
    const manifest = Buffer.from(`${JSON.stringify({ uuid: "x".repeat(600) })}\n`);
    await storage.put("srv/a.json", Readable.from([manifest]));
    const { bytes, allocated } = await readCounting(storage, "srv/a.json");
    expect(bytes.equals(manifest)).toBe(true);
    expect(allocated).toEqual([manifest.length]);
  });

  it("reads a large object and an empty one whole", async () => {
    const storage = createLocalStorage({ root });
    const large = Buffer.alloc(200_001, 7);
    await storage.put("srv/large.tar.gz", Readable.from([large]));
    await storage.put("srv/empty.tar.gz", Readable.from([]));
    expect((await readCounting(storage, "srv/large.tar.gz")).bytes.equals(large)).toBe(true);
    expect((await readCounting(storage, "srv/empty.tar.gz")).bytes.length).toBe(0);
  });

  it("reads a range in one piece up to 4 MiB (a repository's read of a pack), a whole object in 64 KiB pieces", async () => {
    const storage = createLocalStorage({ root });
    const pack = Buffer.alloc(6 * 1024 * 1024);
    for (let at = 0; at < pack.length; at += 4) pack.writeUInt32LE(at, at);
    await storage.put("data/ab/pack", Readable.from([pack]));
    const pieces = async (range?: { start: number; end: number }) => {
      const sizes: number[] = [];
      const chunks: Buffer[] = [];
      for await (const chunk of await storage.get("data/ab/pack", range ? { range } : {})) {
        sizes.push(chunk.length);
        chunks.push(chunk as Buffer);
      }
      return { sizes, bytes: Buffer.concat(chunks) };
    };
    const MiB = 1024 * 1024;
    const three = await pieces({ start: 1000, end: 1000 + 3 * MiB - 1 });
    expect(three.sizes).toEqual([3 * MiB]);
    expect(three.bytes.equals(pack.subarray(1000, 1000 + 3 * MiB))).toBe(true);
    const five = await pieces({ start: 10, end: 10 + 5 * MiB - 1 });
    expect(five.sizes).toEqual([4 * MiB, MiB]);
    expect(five.bytes.equals(pack.subarray(10, 10 + 5 * MiB))).toBe(true);
    const whole = await pieces();
    expect(Math.max(...whole.sizes)).toBe(64 * 1024);
    expect(whole.bytes.equals(pack)).toBe(true);
  });
});

describe("symbolic links", () => {
  it("never writes, reads, lists or deletes through a link to a folder outside the root", async () => {
    await writeFile(join(outside, "secret.tar.gz"), "secret");
    await symlink(outside, join(root, "srv"));
    const storage = createLocalStorage({ root });
    await expect(storage.put("srv/new.tar.gz", Readable.from([Buffer.from("x")]))).rejects.toMatchObject({
      code: "STORAGE_ERROR",
    });
    expect(await storage.stat("srv/secret.tar.gz")).toBeUndefined();
    await expect(storage.get("srv/secret.tar.gz")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await keys(storage)).toEqual([]);
    expect(await keys(storage, "srv/")).toEqual([]);
    await storage.delete("srv/secret.tar.gz");
    expect(await readdir(outside)).toEqual(["secret.tar.gz"]);
  });

  it("treats a link to a file outside the root as no object", async () => {
    await writeFile(join(outside, "secret.tar.gz"), "secret");
    await mkdir(join(root, "srv"));
    await symlink(join(outside, "secret.tar.gz"), join(root, "srv", "link.tar.gz"));
    const storage = createLocalStorage({ root });
    expect(await storage.stat("srv/link.tar.gz")).toBeUndefined();
    await expect(storage.get("srv/link.tar.gz")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await keys(storage)).toEqual([]);
    expect(await readFile(join(outside, "secret.tar.gz"), "utf8")).toBe("secret");
  });

  it("refuses a key that would leave the root even when called without core's key validation", async () => {
    const storage = createLocalStorage({ root: join(root, "store") });
    await expect(storage.put("../escape.tar.gz", Readable.from([Buffer.from("x")]))).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    expect(await readdir(root)).toEqual(["store"]);
  });
});

describe("conflicts", () => {
  it("refuses an object where a folder of objects is, and a folder where an object is", async () => {
    const storage = createLocalStorage({ root });
    await storage.put("a/b.tar.gz", Readable.from([Buffer.from("x")]));
    await expect(storage.put("a", Readable.from([Buffer.from("y")]))).rejects.toMatchObject({
      code: "STORAGE_ERROR",
    });
    await expect(storage.put("a/b.tar.gz/c", Readable.from([Buffer.from("z")]))).rejects.toMatchObject({
      code: "STORAGE_ERROR",
    });
    expect(await keys(storage)).toEqual(["a/b.tar.gz"]);
    expect((await readdir(root)).sort()).toEqual(["a"]);
    expect(await readdir(join(root, "a"))).toEqual(["b.tar.gz"]);
  });
});

describe("options", () => {
  it("rejects a download secret shorter than 32 bytes, a bad base URL and a bad page size", () => {
    const baseUrl = "http://127.0.0.1:1";
    expect(() => createLocalStorage({ root, downloads: { secret: "too-short", baseUrl } })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => createLocalStorage({ root, downloads: { secret: new Uint8Array(31), baseUrl } })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() =>
      createLocalStorage({ root, downloads: { secret: "s".repeat(32), baseUrl: "not a url" } }),
    ).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(() => createLocalStorage({ root, pageSize: 0 })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
  });

  it("offers downloadUrl only with downloads configured, under the base URL's path", async () => {
    expect(createLocalStorage({ root }).downloadUrl).toBeUndefined();
    const storage = createLocalStorage({
      root,
      downloads: { secret: "s".repeat(32), baseUrl: "https://panel.example.com/strongbox/" },
    });
    await storage.put("srv/b.tar.gz", Readable.from([Buffer.from("x")]));
    const url = new URL(await storage.downloadUrl!("srv/b.tar.gz"));
    expect(`${url.origin}${url.pathname}`).toBe("https://panel.example.com/strongbox/download/backup");
    expect(url.searchParams.get("token")).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(storage.downloads?.path).toBe("/strongbox/download/backup");
    await expect(storage.downloadUrl!("srv/missing.tar.gz")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
