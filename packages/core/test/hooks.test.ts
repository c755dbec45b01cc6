import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AfterHookContext,
  archiveKey,
  type BackupManagerOptions,
  type BackupWarning,
  createBackupManager,
  createMemoryStorage,
  type HookContext,
} from "../src/index.js";
import { readTree, stallArchives, tempDirs, writeTree } from "./fixtures/manager-helpers.js";

const SERVER = "srv-hooks";
const dirs = tempDirs();
const games: GameServer[] = [];
afterEach(async () => {
  for (const game of games.splice(0)) game.stop();
  await dirs.cleanup();
});

/**
 * A stand-in for a game server console: `save-off` pauses world saving, `save-on` resumes it, `save-all`
 * flushes, `status` tells whether saving is on. Each command answers with one line.
 */
const CONSOLE = `
let saving = true;
require("node:readline").createInterface({ input: process.stdin }).on("line", (command) => {
  if (command === "save-off") { saving = false; console.log("Automatic saving is now disabled"); }
  else if (command === "save-on") { saving = true; console.log("Automatic saving is now enabled"); }
  else if (command === "save-all") console.log("Saved the game");
  else if (command === "status") console.log(saving ? "saving:on" : "saving:off");
  else console.log("Unknown command");
});
`;

interface GameServer {
  /** Sends a console command and resolves with the line it answers. */
  command(line: string): Promise<string>;
  stop(): void;
}

function startGameServer(): GameServer {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ["-e", CONSOLE]);
  const answers: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => answers.shift()?.(line));
  const game: GameServer = {
    command(line) {
      return new Promise((resolve) => {
        answers.push(resolve);
        child.stdin.write(`${line}\n`);
      });
    },
    stop: () => child.kill(),
  };
  games.push(game);
  return game;
}

/** Hooks that pause the game's saving around an operation, logging each step into `log`. */
function pausingHooks(game: GameServer, log: string[]): NonNullable<BackupManagerOptions["hooks"]> {
  const pause = (name: string) => async (context: HookContext) => {
    log.push(name);
    expect(context.signal.aborted).toBe(false);
    await game.command("save-off");
    await game.command("save-all");
  };
  const resume = (name: string) => async (context: AfterHookContext) => {
    log.push(context.error ? `${name}:${(context.error as { code?: string }).code}` : name);
    await game.command("save-on");
  };
  return {
    beforeBackup: pause("beforeBackup"),
    afterBackup: resume("afterBackup"),
    beforeRestore: pause("beforeRestore"),
    afterRestore: resume("afterRestore"),
  };
}

/** A manager over a small server folder; activity events go into `log` as `event:<name>`. */
async function setup(options: Partial<BackupManagerOptions> & { log?: string[] } = {}) {
  const dir = await dirs.make("hooks");
  const root = join(dir, "servers", SERVER);
  await writeTree(root, { "server.properties": "motd=hi\n", "world/level.dat": "level" });
  const { log = [], ...rest } = options;
  const warnings: BackupWarning[] = [];
  const storage = options.storage ?? createMemoryStorage();
  const manager = createBackupManager({
    storage,
    serverRoot: () => root,
    onActivity: (event) => {
      log.push(event.event.replace("server:backup.", "event:"));
    },
    onWarning: (warning) => warnings.push(warning),
    ...rest,
  });
  return { root, storage, manager, log, warnings };
}

describe("backup hooks", () => {
  it("pauses the game before the archive is written and resumes it after the outcome is recorded", async () => {
    const game = startGameServer();
    const log: string[] = [];
    const storage = createMemoryStorage();
    const seen: { archiveBefore?: unknown; recordAfter?: unknown } = {};
    const hooks = pausingHooks(game, log);
    const { manager } = await setup({
      storage,
      hooks: {
        beforeBackup: async (context) => {
          seen.archiveBefore = await storage.stat(archiveKey(SERVER, context.record.uuid));
          expect(context.record.completed_at).toBeNull();
          await hooks.beforeBackup?.(context);
        },
        afterBackup: async (context) => {
          seen.recordAfter = context.record;
          await hooks.afterBackup?.(context);
        },
      },
      log,
    });
    const started = await manager.create(SERVER);
    const done = await manager.wait(SERVER, started.uuid);
    log.push("waited");
    expect(log).toEqual(["event:start", "beforeBackup", "event:complete", "afterBackup", "waited"]);
    expect(seen.archiveBefore).toBeUndefined();
    expect(seen.recordAfter).toEqual(done);
    expect(done).toMatchObject({ is_successful: true });
    expect(await game.command("status")).toBe("saving:on");
  });

  it("fails the backup with the hook's reason when beforeBackup throws, and still resumes the game", async () => {
    const game = startGameServer();
    const log: string[] = [];
    const { beforeBackup, afterBackup } = pausingHooks(game, log);
    const { manager, storage } = await setup({
      hooks: {
        beforeBackup: async (context) => {
          await beforeBackup?.(context);
          throw new Error("the world did not save in time");
        },
        afterBackup,
      },
      log,
    });
    const started = await manager.create(SERVER);
    const done = await manager.wait(SERVER, started.uuid);
    expect(done).toMatchObject({
      is_successful: false,
      error: "The beforeBackup hook failed: the world did not save in time",
    });
    expect(await storage.stat(archiveKey(SERVER, started.uuid))).toBeUndefined();
    expect(log).toEqual(["event:start", "beforeBackup", "event:fail", "afterBackup:SERVER_STATE_CONFLICT"]);
    expect(await game.command("status")).toBe("saving:on");
  });

  it("resumes the game when packing fails after the pause", async () => {
    const game = startGameServer();
    const log: string[] = [];
    const hooks = pausingHooks(game, log);
    let folder = "";
    const { manager, root } = await setup({
      hooks: {
        ...hooks,
        // The folder goes away after the pause (a transfer took the server): packing then fails.
        beforeBackup: async (context) => {
          await hooks.beforeBackup?.(context);
          await rm(folder, { recursive: true });
        },
      },
      log,
    });
    folder = root;
    const started = await manager.create(SERVER);
    const done = await manager.wait(SERVER, started.uuid);
    expect(done.is_successful).toBe(false);
    expect(done.error).toMatch(/no folder to pack/);
    expect(log).toEqual(["event:start", "beforeBackup", "event:fail", "afterBackup:NOT_FOUND"]);
    expect(await game.command("status")).toBe("saving:on");
  });

  it("resumes the game after a cancelled backup, with a signal the cancel did not abort", async () => {
    const game = startGameServer();
    const log: string[] = [];
    const stalling = stallArchives(createMemoryStorage());
    const hooks = pausingHooks(game, log);
    let afterSignal: AbortSignal | undefined;
    const { manager } = await setup({
      storage: stalling.storage,
      hooks: {
        ...hooks,
        afterBackup: async (context) => {
          afterSignal = context.signal;
          await hooks.afterBackup?.(context);
        },
      },
      log,
    });
    const started = await manager.create(SERVER);
    await stalling.uploading;
    const cancelled = await manager.cancel(SERVER, started.uuid);
    expect(cancelled).toMatchObject({ is_successful: false, error: "cancelled" });
    expect(log).toEqual(["event:start", "beforeBackup", "event:fail", "afterBackup:ABORTED"]);
    expect(afterSignal?.aborted).toBe(false);
    expect(await game.command("status")).toBe("saving:on");
  });

  it("gives up on a beforeBackup that outlives its timeout, aborting its signal", async () => {
    let hookSignal: AbortSignal | undefined;
    const after: AfterHookContext[] = [];
    const { manager } = await setup({
      hooks: {
        timeoutMs: 50,
        beforeBackup: ({ signal }) => {
          hookSignal = signal;
          return new Promise(() => {});
        },
        afterBackup: (context) => {
          after.push(context);
        },
      },
    });
    const started = await manager.create(SERVER);
    const done = await manager.wait(SERVER, started.uuid);
    expect(done.error).toBe(
      "The beforeBackup hook did not finish within 0.05 s; make it faster or raise its timeout.",
    );
    expect(hookSignal?.aborted).toBe(true);
    expect(after).toHaveLength(1);
    expect(after[0]?.error).toMatchObject({ code: "SERVER_STATE_CONFLICT" });
  });

  it("keeps a successful backup when afterBackup throws, and warns", async () => {
    const { manager, warnings } = await setup({
      hooks: {
        afterBackup: () => {
          throw new Error("console gone");
        },
      },
    });
    const started = await manager.create(SERVER);
    const done = await manager.wait(SERVER, started.uuid);
    expect(done).toMatchObject({ is_successful: true });
    expect(warnings).toEqual([
      {
        server: SERVER,
        backup: started.uuid,
        code: "HOOK_FAILED",
        message: "The afterBackup hook failed: console gone. The backup itself succeeded.",
      },
    ]);
  });

  it("refuses hooks that are not functions and a timeout that is not positive", () => {
    const storage = createMemoryStorage();
    const serverRoot = () => "/srv";
    const bad = [{ timeoutMs: 0 }, { timeoutMs: Number.NaN }, { beforeBackup: "save-off" }] as const;
    for (const hooks of bad) {
      expect(() =>
        createBackupManager({ storage, serverRoot, hooks: hooks as BackupManagerOptions["hooks"] }),
      ).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    }
  });
});

describe("restore hooks", () => {
  async function withBackup(hooks: BackupManagerOptions["hooks"], log: string[] = []) {
    const context = await setup({ hooks, log });
    const started = await context.manager.create(SERVER);
    const done = await context.manager.wait(SERVER, started.uuid);
    expect(done).toMatchObject({ is_successful: true });
    context.log.length = 0;
    await writeTree(context.root, { "server.properties": "motd=changed\n" });
    return { ...context, uuid: started.uuid };
  }

  it("runs beforeRestore before the folder changes and afterRestore once it is done", async () => {
    const game = startGameServer();
    const log: string[] = [];
    const hooks = pausingHooks(game, log);
    let seenBefore: Record<string, string> | undefined;
    const { manager, root, uuid } = await withBackup(
      {
        beforeRestore: async (context) => {
          seenBefore = await readTree(root);
          await hooks.beforeRestore?.(context);
        },
        afterRestore: hooks.afterRestore,
      },
      log,
    );
    await manager.restore(SERVER, uuid, { truncate: true });
    expect(seenBefore?.["server.properties"]).toBe("motd=changed\n");
    expect(log).toEqual(["event:restore", "beforeRestore", "event:restore-complete", "afterRestore"]);
    expect((await readTree(root))["server.properties"]).toBe("motd=hi\n");
    expect(await game.command("status")).toBe("saving:on");
  });

  it("restores nothing when beforeRestore throws, says why, and still runs afterRestore", async () => {
    const after: AfterHookContext[] = [];
    const { manager, root, uuid, log } = await withBackup({
      beforeRestore: () => {
        throw new Error("the server is still running");
      },
      afterRestore: (context) => {
        after.push(context);
      },
    });
    const before = await readTree(root);
    await expect(manager.restore(SERVER, uuid, { truncate: true })).rejects.toMatchObject({
      code: "SERVER_STATE_CONFLICT",
      message: "The beforeRestore hook failed: the server is still running",
    });
    expect(await readTree(root)).toEqual(before);
    expect(log).toEqual(["event:restore", "event:restore-fail"]);
    expect(after).toHaveLength(1);
    expect(after[0]?.record.uuid).toBe(uuid);
    expect(manager.isBusy(SERVER)).toBe(false);
  });
});
