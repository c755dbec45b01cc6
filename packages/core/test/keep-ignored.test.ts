import { createReadStream } from "node:fs";
import { lstat, mkdir, readdir, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { packToFile } from "../src/archive/pack/pack-file.js";
import { createBackupManager, createMemoryStorage, extract } from "../src/index.js";
import { readTree, tempDirs, writeTree } from "./fixtures/manager-helpers.js";

const SERVER = "srv-keep";
const dirs = tempDirs();
afterEach(() => dirs.cleanup());

const BACKED_UP = {
  "server.properties": "motd=backup\n",
  "world/level.dat": "level-1",
  "world/region/r.0.0.mca": "region",
  ".pteroignore": "*.tmp\n",
};
const IGNORED_THEN = {
  "logs/latest.log": "log at backup time",
  "world/session.log": "nested log",
  "cache/a/b.bin": "cache",
  "node_modules/x/index.js": "module",
  "scratch.tmp": "ignored through .pteroignore",
};

async function managerWithBackup() {
  const dir = await dirs.make("keep");
  const root = join(dir, "servers", SERVER);
  await writeTree(root, { ...BACKED_UP, ...IGNORED_THEN });
  const manager = createBackupManager({ storage: createMemoryStorage(), serverRoot: () => root });
  const started = await manager.create(SERVER, { ignored: ["*.log", "cache/", "node_modules/"] });
  const record = await manager.wait(SERVER, started.uuid);
  expect(record.is_successful).toBe(true);
  // What the server looks like later: changed, grown, with fresh logs and caches.
  await writeTree(root, {
    "server.properties": "motd=changed\n",
    "plugins/new.jar": "added since",
    "world/region/r.1.0.mca": "added since",
    "logs/latest.log": "log now",
    "logs/old.log": "older log",
    "cache/a/c.bin": "more cache",
  });
  return { manager, root, record };
}

describe("truncate restore that keeps ignored files", () => {
  it("keeps the files the backup's rules (and the root's ignore file) leave out, and drops the rest", async () => {
    const { manager, root, record } = await managerWithBackup();
    await manager.restore(SERVER, record.uuid, { truncate: true, keepIgnored: true });
    expect(await readTree(root)).toEqual({
      ...BACKED_UP,
      "logs/latest.log": "log now",
      "logs/old.log": "older log",
      "world/session.log": "nested log",
      "cache/a/b.bin": "cache",
      "cache/a/c.bin": "more cache",
      "node_modules/x/index.js": "module",
      "scratch.tmp": "ignored through .pteroignore",
    });
    expect((await readdir(root)).filter((name) => name.startsWith(".strongbox-"))).toEqual([]);
  });

  it("without the option, truncate still leaves exactly the backup", async () => {
    const { manager, root, record } = await managerWithBackup();
    await manager.restore(SERVER, record.uuid, { truncate: true });
    expect(await readTree(root)).toEqual(BACKED_UP);
  });

  it("leaves merge as it was: backup files overwrite, every other file stays", async () => {
    const { manager, root, record } = await managerWithBackup();
    const before = await readTree(root);
    await manager.restore(SERVER, record.uuid, { truncate: false, keepIgnored: true });
    expect(await readTree(root)).toEqual({ ...before, ...BACKED_UP });
  });

  it("refuses a keepIgnored that is not a boolean", async () => {
    const { manager, record } = await managerWithBackup();
    const options = { truncate: true, keepIgnored: "yes" } as unknown as { truncate: boolean };
    await expect(manager.restore(SERVER, record.uuid, options)).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });
});

describe("extract with keep rules", () => {
  async function archiveOf(files: Record<string, string>) {
    const dir = await dirs.make("keep-extract");
    await writeTree(join(dir, "source"), files);
    const file = join(dir, "a.tar.gz");
    await packToFile(join(dir, "source"), file);
    return { dir, file };
  }

  it("lets the archive win where it holds a kept path, and never follows a kept-looking symlink", async () => {
    const { dir, file } = await archiveOf({ "keep.log": "from archive", "data/a.txt": "a" });
    const target = join(dir, "target");
    await writeTree(target, { "keep.log": "local", "other.log": "local", "data/b.txt": "b" });
    await mkdir(join(dir, "outside"));
    await writeFile(join(dir, "outside", "x.log"), "outside");
    // A symlink named like a kept folder: `logs/` only matches real folders, so the link goes.
    await symlink(join(dir, "outside"), join(target, "logs"));
    await extract(createReadStream(file), target, { mode: "truncate", keep: ["*.log", "logs/"] });
    expect(await readTree(target)).toEqual({
      "keep.log": "from archive",
      "other.log": "local",
      "data/a.txt": "a",
    });
    await expect(lstat(join(target, "logs"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readTree(join(dir, "outside"))).toEqual({ "x.log": "outside" });
  });

  it("keeps a folder the archive lacks when it holds kept files, with only those files", async () => {
    const { dir, file } = await archiveOf({ "a.txt": "a" });
    const target = join(dir, "target");
    await writeTree(target, { "gone/x.txt": "x", "gone/deeper/y.log": "y", "gone/deeper/z.txt": "z" });
    await symlink("a.txt", join(target, "link.log"));
    await extract(createReadStream(file), target, { mode: "truncate", keep: "*.log" });
    expect(await readTree(target)).toEqual({ "a.txt": "a", "gone/deeper/y.log": "y" });
    expect(await readlink(join(target, "link.log"))).toBe("a.txt");
  });

  it("refuses rules that are not strings before touching anything", async () => {
    const { dir, file } = await archiveOf({ "a.txt": "a" });
    const target = join(dir, "target");
    await writeTree(target, { "b.txt": "b" });
    const keep = ["*.txt", 7] as unknown as string[];
    await expect(extract(createReadStream(file), target, { mode: "truncate", keep })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    expect(await readTree(target)).toEqual({ "b.txt": "b" });
  });

  it("takes a rule git cannot match (a reversed range) as matching nothing, as git does", async () => {
    const { dir, file } = await archiveOf({ "a.txt": "a" });
    const target = join(dir, "target");
    await writeTree(target, { "b.txt": "b", "c.log": "c" });
    await extract(createReadStream(file), target, { mode: "truncate", keep: "[z-a]\n*.log" });
    expect(await readTree(target)).toEqual({ "a.txt": "a", "c.log": "c" });
  });
});
