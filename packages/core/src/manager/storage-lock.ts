import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { isStrongboxError } from "../errors.js";
import type { StorageAdapter } from "../storage/types.js";
import { isAbandoned, type LivenessRules } from "./liveness.js";
import { formatTimestamp } from "./records.js";
import type { BackupOwner } from "./types.js";

/** What a server's lock object in the storage holds. */
interface LockObject {
  id: string;
  owner: BackupOwner;
  created_at: string;
}

/** Who takes locks, and how long a lock may go unrefreshed before it counts as left by a dead process. */
export interface StorageLockOptions {
  host: string;
  now: () => Date;
  heartbeatMs: number;
  staleAfterMs: number;
}

// How long a lock that yielded waits before trying again (times a random factor, so two never collide twice).
const RETRY_MS = 40;
// A lock is a few hundred bytes; a larger `.lock` object is not one of ours and is not read.
const MAX_LOCK_BYTES = 64 * 1024;

/**
 * Takes the exclusive lock on a server's records in `storage`, shared by every process using that storage,
 * and resolves with the function that releases it. The storage has no conditional write, so this works as
 * restic's locks do: write a lock object `<server>/<id>.lock`, then list the server's locks. Alone,
 * it holds. Otherwise the older lock wins (by creation time, then id: every process sees the same order)
 * and the younger one is removed and tried again after a random pause. A lock whose owner is gone (see
 * {@link isAbandoned}) is removed. While held, the lock is refreshed every `heartbeatMs`.
 */
export async function lockServerRecords(
  storage: StorageAdapter,
  server: string,
  options: StorageLockOptions,
): Promise<() => Promise<void>> {
  for (;;) {
    const held = await writeLock(storage, server, options);
    if (await waitForTurn(storage, server, held.lock, options)) return held.release;
    await held.release();
    await delay(RETRY_MS * (0.5 + Math.random()));
  }
}

/** Writes a new lock object and keeps it refreshed until released. */
async function writeLock(storage: StorageAdapter, server: string, options: StorageLockOptions) {
  const created = formatTimestamp(options.now());
  const owner = { host: options.host, pid: process.pid, heartbeat_at: created };
  const lock: LockObject = { id: randomUUID(), owner, created_at: created };
  const key = lockKey(server, lock.id);
  const put = (body: LockObject) => storage.put(key, Readable.from([Buffer.from(JSON.stringify(body))]));
  await put(lock);
  // Refreshes are chained, and the delete after them: a late refresh must never bring a released lock back.
  let chain: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    const refreshed = { ...lock, owner: { ...owner, heartbeat_at: formatTimestamp(options.now()) } };
    chain = chain.then(() => put(refreshed)).catch(() => {});
  }, options.heartbeatMs);
  timer.unref();
  const release = async () => {
    clearInterval(timer);
    await chain;
    await storage.delete(key);
  };
  return { lock, release };
}

/**
 * Whether `mine` holds the lock: waits while only younger locks are there (they yield), answers false
 * as soon as an older live one is seen.
 */
async function waitForTurn(
  storage: StorageAdapter,
  server: string,
  mine: LockObject,
  options: StorageLockOptions,
): Promise<boolean> {
  for (;;) {
    const rules: LivenessRules = {
      host: options.host,
      now: options.now(),
      staleAfterMs: options.staleAfterMs,
    };
    const others: LockObject[] = [];
    for (const lock of await readLocks(storage, server)) {
      if (lock.id === mine.id) continue;
      if (isAbandoned(lock, rules)) await storage.delete(lockKey(server, lock.id));
      else others.push(lock);
    }
    if (others.length === 0) return true;
    if (others.some((other) => isOlder(other, mine))) return false;
    await delay(RETRY_MS);
  }
}

/** Where a lock object lives: beside the server's manifests, which end in `.json`. */
function lockKey(server: string, id: string): string {
  return `${server}/${id}.lock`;
}

function isOlder(a: LockObject, b: LockObject): boolean {
  const byTime = Date.parse(a.created_at) - Date.parse(b.created_at);
  return byTime !== 0 ? byTime < 0 : a.id < b.id;
}

async function readLocks(storage: StorageAdapter, server: string): Promise<LockObject[]> {
  const locks: LockObject[] = [];
  // Beside the server's archives and manifests, so no folder is left behind on a local disk.
  for await (const info of storage.list(`${server}/`)) {
    if (!info.key.endsWith(".lock") || info.size > MAX_LOCK_BYTES) continue;
    const lock = await readLock(storage, info.key);
    if (lock) locks.push(lock);
  }
  return locks;
}

/** A lock object, or `undefined` when it went away meanwhile or does not hold a lock. */
async function readLock(storage: StorageAdapter, key: string): Promise<LockObject | undefined> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.get(key)) chunks.push(Buffer.from(chunk as Uint8Array));
    const value = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Partial<LockObject>;
    const valid =
      typeof value.id === "string" &&
      typeof value.created_at === "string" &&
      typeof value.owner?.host === "string" &&
      typeof value.owner.pid === "number" &&
      typeof value.owner.heartbeat_at === "string";
    return valid ? (value as LockObject) : undefined;
  } catch (error) {
    if (isStrongboxError(error, "NOT_FOUND") || error instanceof SyntaxError) return undefined;
    throw error;
  }
}
