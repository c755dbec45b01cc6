import type { StorageAdapter } from "../storage/types.js";
import { lockServerRecords, type StorageLockOptions } from "./storage-lock.js";

/**
 * Runs the changes to a server's records (lock, unlock, delete, rotation, retention, recovery) one at a
 * time: in this manager through a queue per server, across processes sharing the storage through the
 * server's lock object in it. A change re-reads what it decides on once its turn came.
 */
export interface RecordOrder {
  /** Runs `change` once every earlier change of `server` ended, holding the server's storage lock. Not reentrant. */
  run<T>(server: string, change: () => Promise<T>): Promise<T>;
}

/** Creates the record order of one manager. */
export function createRecordOrder(storage: StorageAdapter, options: StorageLockOptions): RecordOrder {
  const tails = new Map<string, Promise<void>>();
  return {
    async run(server, change) {
      const previous = tails.get(server) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((resolve) => {
        done = resolve;
      });
      const tail = previous.then(() => mine);
      tails.set(server, tail);
      await previous;
      try {
        const release = await lockServerRecords(storage, server, options);
        try {
          return await change();
        } finally {
          // A lock that could not be removed goes stale and is removed by the next taker.
          await release().catch(() => {});
        }
      } finally {
        done();
        if (tails.get(server) === tail) tails.delete(server);
      }
    },
  };
}
