import { StrongboxError } from "../errors.js";
import type { RecordKeeper } from "./record-keeper.js";
import type { BackupRecord } from "./types.js";

/** The one operation a server runs in this manager. */
export interface Slot {
  operation: "backup" | "restore";
  /** The backup's uuid (created, or restored). */
  backup: string;
  /** Aborted by `cancel` and `close`. */
  controller: AbortController;
  /** Set once a backup's record is stored. */
  keeper?: RecordKeeper;
  /** Set once a backup runs in the background; never rejects. */
  result?: Promise<BackupRecord>;
  /** Resolves when the server is free again. */
  released: Promise<void>;
  release(): void;
  /**
   * Set once the outcome is recorded and only the wrap-up is left (retention, the after-hook): a new
   * operation then waits for the server instead of being refused, since the panel already shows it done.
   */
  finishing: boolean;
  /** The slot's signal, joined with the caller's if there is one. */
  signal(extra: AbortSignal | undefined): AbortSignal;
}

/** Which server runs what in this manager: one backup or restore per server. */
export interface ServerSlots {
  /**
   * Takes the server for an operation, or throws `SERVER_STATE_CONFLICT` when it is busy (`ABORTED` once
   * closed). Synchronous, so two calls in the same tick can never both pass.
   */
  reserve(server: string, operation: Slot["operation"], backup: string): Slot;
  /** {@link ServerSlots.reserve}, after waiting for an operation that is only {@link Slot.finishing}. */
  acquire(server: string, operation: Slot["operation"], backup: string): Promise<Slot>;
  get(server: string): Slot | undefined;
  /** Whether this manager is running the backup `record` describes. */
  runs(record: BackupRecord): boolean;
  /** Refuses new work, aborts what runs, and resolves once every server is free. */
  closeAll(): Promise<void>;
}

/** Creates the empty set of slots of one manager. */
export function createServerSlots(): ServerSlots {
  const slots = new Map<string, Slot>();
  let closed = false;
  return {
    reserve(server, operation, backup) {
      if (closed) {
        throw new StrongboxError("ABORTED", "The backup manager is closed; create a new one to continue.");
      }
      const busy = slots.get(server);
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
          if (slots.get(server) === slot) slots.delete(server);
          resolve();
        },
        signal: (extra) => (extra ? AbortSignal.any([controller.signal, extra]) : controller.signal),
        finishing: false,
      };
      slots.set(server, slot);
      return slot;
    },
    async acquire(server, operation, backup) {
      for (;;) {
        const busy = slots.get(server);
        // Checked and reserved in the same tick as the wait ends, so two waiters never both pass.
        if (!busy?.finishing) return this.reserve(server, operation, backup);
        await busy.released;
      }
    },
    get: (server) => slots.get(server),
    runs(record) {
      const slot = slots.get(record.server);
      return slot?.operation === "backup" && slot.backup === record.uuid;
    },
    async closeAll() {
      closed = true;
      const running = [...slots.values()];
      for (const slot of running) slot.controller.abort();
      await Promise.all(running.map((slot) => slot.released));
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
