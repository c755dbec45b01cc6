import { StrongboxError } from "../errors.js";
import type { RecordKeeper } from "./record-keeper.js";
import type { BackupRecord } from "./types.js";

/** One operation of a server in this manager, from its acceptance (queued) to its end. */
export interface Slot {
  operation: "backup" | "restore";
  /** The backup's uuid (created, or restored). */
  backup: string;
  /** Aborted by `cancel` and `close`. */
  controller: AbortController;
  /** Set once a backup's record is stored. */
  keeper?: RecordKeeper;
  /** Set once a backup is queued; never rejects. */
  result?: Promise<BackupRecord>;
  /** Resolves when the operation has ended, wrap-up included. */
  released: Promise<void>;
  release(): void;
  /**
   * Set once the outcome is recorded and only the wrap-up is left (retention, the after-hook): the panel
   * already shows it done, so a delete of its backup waits for it instead of being refused.
   */
  finishing: boolean;
  /** The slot's signal, joined with the caller's if there is one. */
  signal(extra: AbortSignal | undefined): AbortSignal;
}

/**
 * The operations each server has in this manager, in the order they were accepted. Backups of a server
 * queue behind each other; a restore needs the server to itself, and nothing but a backup queues behind
 * a restore. An operation that is only finishing does not count: what comes next queues behind it.
 */
export interface ServerSlots {
  /**
   * Takes a place for an operation, or throws `SERVER_STATE_CONFLICT` when the server is busy with what
   * it cannot queue behind (`ABORTED` once closed). Synchronous, so two calls in the same tick can never
   * both pass.
   */
  reserve(server: string, operation: Slot["operation"], backup: string): Slot;
  /** The server's first operation: the one running, or the next to run. */
  get(server: string): Slot | undefined;
  /** The operation on backup `backup` of `server`, if one is running or queued here. */
  find(server: string, backup: string): Slot | undefined;
  /** Whether this manager runs or queues the backup `record` describes. */
  runs(record: BackupRecord): boolean;
  /** Refuses new work, aborts what runs and waits, and resolves once every server is free. */
  closeAll(): Promise<void>;
}

/** Creates the empty set of slots of one manager. */
export function createServerSlots(): ServerSlots {
  const servers = new Map<string, Slot[]>();
  let closed = false;
  const find = (server: string, backup: string) =>
    servers.get(server)?.find((slot) => slot.backup === backup);
  return {
    reserve(server, operation, backup) {
      if (closed) {
        throw new StrongboxError("ABORTED", "The backup manager is closed; create a new one to continue.");
      }
      const slots = servers.get(server) ?? [];
      const busy = slots.find(
        (slot) => !slot.finishing && (operation === "restore" || slot.operation === "restore"),
      );
      if (busy) throw busyError(server, busy.operation);
      let resolve!: () => void;
      const controller = new AbortController();
      const slot: Slot = {
        operation,
        backup,
        controller,
        released: new Promise<void>((r) => {
          resolve = r;
        }),
        release() {
          const left = (servers.get(server) ?? []).filter((other) => other !== slot);
          if (left.length > 0) servers.set(server, left);
          else servers.delete(server);
          resolve();
        },
        signal: (extra) => (extra ? AbortSignal.any([controller.signal, extra]) : controller.signal),
        finishing: false,
      };
      servers.set(server, [...slots, slot]);
      return slot;
    },
    get: (server) => servers.get(server)?.[0],
    find,
    runs: (record) => find(record.server, record.uuid)?.operation === "backup",
    async closeAll() {
      closed = true;
      const all = [...servers.values()].flat();
      for (const slot of all) slot.controller.abort();
      await Promise.all(all.map((slot) => slot.released));
    },
  };
}

function busyError(server: string, operation: Slot["operation"]): StrongboxError {
  const doing = operation === "backup" ? "is being backed up" : "is restoring a backup";
  return new StrongboxError(
    "SERVER_STATE_CONFLICT",
    `Server ${server} ${doing}; wait for that to finish before starting another backup or restore.`,
    { details: { server, operation } },
  );
}
