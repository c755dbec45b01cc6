import type { ManagerContext } from "./context.js";
import { isAbandoned } from "./liveness.js";
import { backupNotFound, stillRunning } from "./manager-errors.js";
import { sortNewestFirst } from "./records.js";
import { recoverRecords } from "./recover.js";
import type { ServerSlots } from "./slots.js";
import type { BackupRecord } from "./types.js";

/** Reads a server's records the way the manager's actions need them. */
export interface ServerRecords {
  /** Every record of the server, newest first (what policies are shown). */
  all(server: string): Promise<BackupRecord[]>;
  /** One record and all of them; `NOT_FOUND` when it does not exist. */
  find(server: string, uuid: string): Promise<{ record: BackupRecord; backups: BackupRecord[] }>;
  /**
   * Every record once abandoned in-progress ones are failed (so nobody waits on a dead process); throws
   * `SERVER_STATE_CONFLICT` while another live process runs a backup of the server.
   */
  settled(server: string): Promise<BackupRecord[]>;
  /** Whether an in-progress record belongs to another process that is still at work. */
  isLiveElsewhere(record: BackupRecord): boolean;
}

/** Binds record reading to a manager's context and slots. */
export function createServerRecords(context: ManagerContext, slots: ServerSlots): ServerRecords {
  const all = async (server: string) => sortNewestFirst(await context.catalog.list(server));
  return {
    all,
    async find(server, uuid) {
      const backups = await all(server);
      const record = backups.find((candidate) => candidate.uuid === uuid);
      if (!record) throw backupNotFound(server, uuid);
      return { record, backups };
    },
    async settled(server) {
      const backups = await all(server);
      const recovered = await recoverRecords(context, backups, slots.runs);
      const byId = new Map(recovered.map((record) => [record.uuid, record]));
      const current = backups.map((record) => byId.get(record.uuid) ?? record);
      const elsewhere = current.find((record) => record.completed_at === null && !slots.runs(record));
      if (elsewhere) {
        throw stillRunning(
          elsewhere,
          `Server ${server} has a backup running in another process; wait for it to finish first.`,
        );
      }
      return current;
    },
    isLiveElsewhere(record) {
      if (record.completed_at !== null || slots.runs(record)) return false;
      const rules = { host: context.host, now: context.now(), staleAfterMs: context.staleAfterMs };
      return !isAbandoned(record, rules);
    },
  };
}
