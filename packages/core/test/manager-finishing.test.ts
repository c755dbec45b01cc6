import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ActivityEvent, createBackupManager, createMemoryStorage } from "../src/index.js";
import { tempDirs, writeTree } from "./fixtures/manager-helpers.js";

const SERVER = "srv-finishing";
const dirs = tempDirs();
afterEach(() => dirs.cleanup());

/** A promise with its resolver, to hold an after-hook open until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

async function setup(hook: "afterBackup" | "afterRestore") {
  const root = join(await dirs.make("finishing"), SERVER);
  await writeTree(root, { "a.txt": "a" });
  const held = gate();
  const completed = gate();
  const events: ActivityEvent[] = [];
  const manager = createBackupManager({
    storage: createMemoryStorage(),
    serverRoot: () => root,
    hooks: { [hook]: () => held.opened },
    onActivity: (event) => {
      events.push(event);
      const done = hook === "afterBackup" ? "server:backup.complete" : "server:backup.restore-complete";
      if (event.event === done) completed.open();
    },
  });
  return { manager, held, completed, events };
}

describe("an operation whose outcome is recorded but whose wrap-up still runs", () => {
  it("makes the next backup wait for the server instead of refusing it", async () => {
    const { manager, held, completed, events } = await setup("afterBackup");
    const first = await manager.create(SERVER);
    await completed.opened;
    expect((await manager.get(SERVER, first.uuid)).is_successful).toBe(true);
    // The panel sees the backup done and asks for another while the after-hook still runs.
    const second = manager.create(SERVER);
    expect(manager.activeOperation(SERVER)).toMatchObject({ operation: "backup", backup: first.uuid });
    held.open();
    const started = await second;
    expect(started.uuid).not.toBe(first.uuid);
    expect(await manager.wait(SERVER, started.uuid)).toMatchObject({ is_successful: true });
    expect(events.map((e) => e.event)).toEqual([
      "server:backup.start",
      "server:backup.complete",
      "server:backup.start",
      "server:backup.complete",
    ]);
    await manager.close();
  });

  it("makes a restore wait for the end of the previous restore's after-hook", async () => {
    const { manager, held, completed } = await setup("afterRestore");
    const backup = await manager.create(SERVER);
    await manager.wait(SERVER, backup.uuid);
    const first = manager.restore(SERVER, backup.uuid, { truncate: true });
    await completed.opened;
    const second = manager.restore(SERVER, backup.uuid, { truncate: false });
    held.open();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    await manager.close();
  });

  it("queues a second backup while the first one runs, and starts it only after the first's wrap-up", async () => {
    const { manager, held, completed, events } = await setup("afterBackup");
    const first = await manager.create(SERVER);
    const second = await manager.create(SERVER);
    expect(second.completed_at).toBeNull();
    await completed.opened;
    expect(manager.activeOperation(SERVER)).toMatchObject({ backup: first.uuid });
    expect((await manager.get(SERVER, second.uuid)).completed_at).toBeNull();
    held.open();
    expect(await manager.wait(SERVER, second.uuid)).toMatchObject({ is_successful: true });
    expect(events.map((e) => [e.event, e.backup])).toEqual([
      ["server:backup.start", first.uuid],
      ["server:backup.start", second.uuid],
      ["server:backup.complete", first.uuid],
      ["server:backup.complete", second.uuid],
    ]);
    await manager.close();
  });
});

describe("a client that polls until completed_at and then acts at once", () => {
  it("is never refused: create, restore, lock and delete right after completion, 60 times", async () => {
    const dir = await dirs.make("finishing-loop");
    const root = join(dir, SERVER);
    await writeTree(root, { "a.txt": "a", "sub/b.txt": "b" });
    const storage = createMemoryStorage();
    // Wrap-up that takes real time: retention reads and deletes records, the after-hook writes a file.
    const manager = createBackupManager({
      storage,
      serverRoot: () => root,
      policy: { retention: ({ backups }) => backups.slice(3).map((backup) => backup.uuid) },
      hooks: { afterBackup: () => writeFile(join(dir, "after.log"), "done\n", { flag: "a" }) },
    });
    const untilCompleted = async (uuid: string) => {
      for (;;) {
        const record = await manager.get(SERVER, uuid);
        if (record.completed_at !== null) return record;
        // The memory storage answers in microtasks: let the backup's I/O run, as a network poll would.
        await new Promise(setImmediate);
      }
    };
    const actions = [
      async () => untilCompleted((await manager.create(SERVER)).uuid),
      (uuid: string) => manager.restore(SERVER, uuid, { truncate: false }),
      (uuid: string) =>
        manager.setLocked(SERVER, uuid, true).then(() => manager.setLocked(SERVER, uuid, false)),
      (uuid: string) => manager.delete(SERVER, uuid),
    ];
    for (let i = 0; i < 60; i++) {
      const { uuid } = await manager.create(SERVER);
      expect(await untilCompleted(uuid)).toMatchObject({ is_successful: true });
      await (actions[i % actions.length] as (uuid: string) => Promise<unknown>)(uuid);
    }
    await manager.close();
  }, 600_000);
});
