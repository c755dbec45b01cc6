// Shared by the integration tests: the real manager with the real policy, over each storage adapter.
import { join } from "node:path";
import {
  type ActivityEvent,
  type BackupManager,
  type BackupManagerOptions,
  type BackupRecord,
  createBackupManager,
  createMemoryStorage,
  type ServerState,
  type StorageAdapter,
} from "@strongbox/core";
import { createLocalStorage } from "@strongbox/storage-local";
import {
  type StallingStorage,
  stallArchives,
  steppingClock,
  tempDirs,
  writeTree,
} from "../../core/test/fixtures/manager-helpers.js";
import { type Actor, createPolicy, type PolicyOptions } from "../src/index.js";

export { deferred, keysOf, readTree, writeTree } from "../../core/test/fixtures/manager-helpers.js";

export const SERVER = "srv-1";
/** The files every server folder starts with. */
export const FILES = { "server.properties": "motd=hello\n", "world/level.dat": "level-1" };
/** May do everything. */
export const ADMIN: Actor = {
  id: "admin-1",
  permissions: ["backup.create", "backup.read", "backup.download", "backup.restore", "backup.delete"],
};
/** May do everything but delete, so neither lock nor unlock. */
export const HELPER: Actor = {
  id: "helper-1",
  permissions: ["backup.create", "backup.read", "backup.download", "backup.restore"],
};

/** A storage adapter the integration tests run over, made inside a test's temp folder. */
export interface AdapterCase {
  name: "memory" | "local";
  make(dir: string): StorageAdapter;
}

/** Both adapters, each able to hand out download links (the memory one through a stand-in). */
export const ADAPTERS: readonly AdapterCase[] = [
  {
    name: "memory",
    make: () => ({
      ...createMemoryStorage(),
      downloadUrl: async (key) => `memory:///${key}`,
    }),
  },
  {
    name: "local",
    make: (dir) =>
      createLocalStorage({
        root: join(dir, "storage"),
        downloads: { secret: "s".repeat(32), baseUrl: "http://127.0.0.1:8080" },
      }),
  },
];

const dirs = tempDirs();
const managers: BackupManager[] = [];

/** Closes every manager made since the last call and removes the temp folders; for `afterEach`. */
export async function cleanup(): Promise<void> {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  await dirs.cleanup();
}

/** Options of {@link setup}: the policy's, plus manager options a test needs to control. */
export interface SetupOptions {
  policy?: PolicyOptions;
  now?: () => Date;
  manager?: Partial<BackupManagerOptions>;
}

/** A manager with `createPolicy(options.policy)` over a fresh adapter, and the server folder {@link FILES}. */
export async function setup(adapter: AdapterCase, options: SetupOptions = {}) {
  const dir = await dirs.make(`policy-${adapter.name}`);
  const root = join(dir, "servers", SERVER);
  await writeTree(root, FILES);
  const storage = adapter.make(dir);
  const events: ActivityEvent[] = [];
  const state: { value: ServerState } = { value: "offline" };
  // One clock for every manager of the test, so records written by one look fresh to the others.
  const now = options.now ?? steppingClock();
  const policy = createPolicy(options.policy);
  const managerOn = (on: StorageAdapter): BackupManager => {
    const manager = createBackupManager({
      storage: on,
      policy,
      serverRoot: (server) => join(dir, "servers", server),
      serverState: () => state.value,
      onActivity: (event) => {
        events.push(event);
      },
      now,
      ...options.manager,
    });
    managers.push(manager);
    return manager;
  };
  const manager = managerOn(storage);

  return {
    dir,
    root,
    storage,
    events,
    state,
    manager,
    /**
     * A second manager over the same storage whose archive uploads and downloads hold still until
     * `release()`: how a test catches an operation while it runs.
     */
    stalled(): StallingStorage & { manager: BackupManager } {
      const stalling = stallArchives(storage);
      return { ...stalling, manager: managerOn(stalling.storage) };
    },
    /** Runs a backup to its end. */
    async backup(options: Parameters<BackupManager["create"]>[1] = {}): Promise<BackupRecord> {
      const { uuid } = await manager.create(SERVER, options);
      return manager.wait(SERVER, uuid);
    },
    /** Runs a backup that is cancelled as soon as it is created, so it fails. */
    async failedBackup(name: string): Promise<BackupRecord> {
      const controller = new AbortController();
      const { uuid } = await manager.create(SERVER, { name, signal: controller.signal });
      controller.abort();
      return manager.wait(SERVER, uuid);
    },
    /** The uuids of the server's backups, newest first. */
    async uuids(): Promise<string[]> {
      return (await manager.list(SERVER)).data.map((record) => record.uuid);
    },
  };
}
