import { link, mkdir, readdir, rm, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { archiveKey, createBackupManager, type StorageAdapter } from "../src/index.js";
import { readTree, tempDirs, writeTree } from "./fixtures/manager-helpers.js";
import { useTestStorages } from "./fixtures/test-storages.js";

const SERVER = "srv-1";
const TREE = {
  "server.properties": "motd=hello\n",
  "world/level.dat": "level-1",
  "world/region/r.0.0.mca": "x".repeat(70_000),
  "plugins/config.yml": "a: 1\n",
};

const adapters = useTestStorages("drill", ["local", "s3"]);

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

async function setup(factory: (dir: string) => StorageAdapter) {
  const dir = await dirs.make("drill");
  const root = join(dir, "servers", SERVER);
  await writeTree(root, TREE);
  await mkdir(join(root, "empty"));
  await symlink("world/level.dat", join(root, "level-link"));
  await link(join(root, "plugins/config.yml"), join(root, "plugins/config-copy.yml"));
  const storage = factory(dir);
  const manager = createBackupManager({ storage, serverRoot: (server) => join(dir, "servers", server) });
  const { uuid } = await manager.create(SERVER);
  const record = await manager.wait(SERVER, uuid);
  expect(record.is_successful).toBe(true);
  const temp = join(dir, "drills");
  await mkdir(temp);
  return { dir, root, storage, manager, uuid, temp };
}

/** Every path under `root` with its size and mtime: what "untouched" means for a server folder. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const shot: Record<string, string> = {};
  for (const name of (await readdir(root, { recursive: true })).sort()) {
    const info = await stat(join(root, name)).catch(() => undefined);
    shot[name] = info ? `${info.size} ${info.mtimeMs}` : "dangling";
  }
  return shot;
}

describe.each(adapters)("drill on %s storage", (_name, factory) => {
  it("restores into a temporary folder, finds it as listed, removes it, leaves the server alone", async () => {
    const { root, manager, uuid, temp } = await setup(factory);
    const before = await snapshot(root);
    let restoredInto = "";

    const report = await manager.drill(SERVER, uuid, {
      tempDir: temp,
      onRestored: async (folder) => {
        restoredInto = folder;
        expect(await readTree(folder)).toEqual(await readTree(root));
      },
    });

    expect(report).toEqual({
      server: SERVER,
      backup: uuid,
      name: expect.any(String),
      passed: true,
      // The hard link's second name counts as a link: its content is that of the file it shares.
      files: 4,
      directories: 4,
      links: 2,
      bytes: Object.values(TREE).reduce((sum, text) => sum + text.length, 0),
      skipped: 0,
      differences: [],
      moreDifferences: 0,
    });
    expect(restoredInto.startsWith(temp)).toBe(true);
    expect(await readdir(temp)).toEqual([]);
    expect(await snapshot(root)).toEqual(before);
  });
});

describe("drill on local storage", () => {
  const local = adapters[0]![1];

  it("reports each way a restored folder can differ from the listing, and still cleans up", async () => {
    const { root, manager, uuid, temp } = await setup(local);
    const before = await snapshot(root);

    const report = await manager.drill(SERVER, uuid, {
      tempDir: temp,
      onRestored: async (folder) => {
        await writeFile(join(folder, "server.properties"), "motd=HELLO\n");
        await writeFile(join(folder, "world/level.dat"), "longer level");
        await rm(join(folder, "world/region"), { recursive: true });
        await writeFile(join(folder, "intruder.txt"), "?");
        await unlink(join(folder, "level-link"));
        await symlink("elsewhere", join(folder, "level-link"));
        await rm(join(folder, "empty"), { recursive: true });
        await writeFile(join(folder, "empty"), "");
      },
    });

    expect(report.passed).toBe(false);
    expect(report.differences).toEqual(
      expect.arrayContaining([
        {
          path: "server.properties",
          problem: "content",
          expected: expect.stringMatching(/^sha256:/),
          actual: expect.stringMatching(/^sha256:/),
        },
        { path: "world/level.dat", problem: "size", expected: "7", actual: "12" },
        { path: "world/region", problem: "missing" },
        { path: "world/region/r.0.0.mca", problem: "missing" },
        { path: "level-link", problem: "link", expected: "world/level.dat", actual: "elsewhere" },
        { path: "empty", problem: "type", expected: "directory", actual: "file" },
        { path: "intruder.txt", problem: "unexpected" },
      ]),
    );
    expect(report.differences).toHaveLength(7);
    expect(await readdir(temp)).toEqual([]);
    expect(await snapshot(root)).toEqual(before);
  });

  it("refuses a damaged archive before comparing anything, and cleans up", async () => {
    const { root, storage, manager, uuid, temp } = await setup(local);
    // A whole, readable archive, but another one: only its checksum tells it apart.
    await writeFile(join(root, "server.properties"), "motd=changed\n");
    const other = await manager.wait(SERVER, (await manager.create(SERVER)).uuid);
    await storage.put(archiveKey(SERVER, uuid), await storage.get(archiveKey(SERVER, other.uuid)));

    await expect(manager.drill(SERVER, uuid, { tempDir: temp })).rejects.toMatchObject({
      code: "CHECKSUM_MISMATCH",
    });
    expect(await readdir(temp)).toEqual([]);
  });

  it("never makes its temporary folder in the server's folder", async () => {
    const { root, manager, uuid } = await setup(local);
    const before = await snapshot(root);

    for (const tempDir of [root, join(root, "world")]) {
      await expect(manager.drill(SERVER, uuid, { tempDir })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    }
    expect(await snapshot(root)).toEqual(before);
  });
});
