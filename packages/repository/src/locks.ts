import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import {
  abortError,
  isAbandoned,
  isStrongboxError,
  type LivenessRules,
  StrongboxError,
  throwIfAborted,
} from "@strongbox/core/parts";
import type { Repository } from "./repository.js";
import { parseObject, readSmallObject, writeSmallObject } from "./stored-json.js";

/**
 * `shared`: many at once (backups add data and never remove any). `exclusive`: alone (forget, prune and
 * repack delete what others may be relying on), so it excludes every other lock, shared or exclusive.
 */
export type LockKind = "shared" | "exclusive";

/** How long a lock's heartbeat is rewritten apart, by default: 5 minutes. */
export const DEFAULT_LOCK_REFRESH_MS = 5 * 60_000;
/** How long an unrefreshed lock stays live, by default: 30 minutes (restic's rule). */
export const DEFAULT_LOCK_STALE_AFTER_MS = 30 * 60_000;

/** What decides whether a lock was left by a process that is gone (core's {@link isAbandoned} rule). */
export interface StaleLockRules {
  /** This host's name (default `os.hostname()`): a lock of this host whose process has ended is stale at once. */
  host?: string;
  /** The clock (for tests; default `() => new Date()`). */
  now?: () => Date;
  /** A lock whose heartbeat is older than this is stale on any host (default 30 minutes). */
  staleAfterMs?: number;
}

/** Options of {@link lockRepository}. */
export interface LockOptions extends StaleLockRules {
  kind: LockKind;
  /** What the lock is for, shown to whoever it blocks (e.g. `backup of server X`, `prune`). */
  purpose: string;
  /** How often the heartbeat is rewritten (default 5 minutes); at most half of `staleAfterMs`. */
  refreshMs?: number;
  /** How long to keep retrying while a conflicting lock is held (default 0: fail at once). */
  waitMs?: number;
  /** Stops the wait: the call rejects with `ABORTED` and leaves no lock object behind. */
  signal?: AbortSignal;
}

/** A lock this process holds on a repository. Its heartbeat is rewritten every `refreshMs` until released. */
export interface RepositoryLock {
  /** The lock's id: its object is `locks/<id>` under the repository's prefix. */
  readonly id: string;
  readonly kind: LockKind;
  /**
   * Throws when the lock is no longer held, so call it before committing (writing a snapshot, deleting
   * packs).
   * @throws StrongboxError `SERVER_STATE_CONFLICT` when the lock was lost (its object was deleted by someone
   *   who judged it stale, or it could not be refreshed for `staleAfterMs`) or was released.
   */
  assertHeld(): void;
  /**
   * Rewrites the heartbeat now (a timer does it every `refreshMs`; the timer does not keep Node running).
   * A lock whose object is gone is not written again.
   * @throws StrongboxError `SERVER_STATE_CONFLICT` when the lock is lost or released (as {@link assertHeld});
   *   the storage's error when the write fails (the lock is still held until `staleAfterMs` passes).
   */
  refresh(): Promise<void>;
  /** Stops the heartbeat and deletes the lock object. Calling it again does nothing. */
  release(): Promise<void>;
}

/** Who holds a lock, and when they last said they were still at work. */
export interface LockOwner {
  host: string;
  pid: number;
  /** ISO 8601 time of the last refresh. */
  heartbeat_at: string;
}

/** What {@link listLocks} tells of one lock object. */
export interface LockInfo {
  id: string;
  kind: LockKind;
  purpose: string;
  owner: LockOwner;
  /** ISO 8601 time the lock was taken. */
  created_at: string;
  /** True when its owner is gone (see {@link StaleLockRules}): it blocks nobody and may be removed. */
  stale: boolean;
  /**
   * Set (to the reason) when the object could not be read or opened: damaged, sealed with another key, or
   * not a lock. Such a lock counts as a live exclusive lock that blocks every other; its `purpose` is `""`,
   * its owner unknown (`host` `""`, `pid` 0) and both times are the object's last write in the storage.
   * Remove it by hand (from the storage) once sure no Strongbox process is using the repository.
   */
  unreadable?: string;
}

/** What a lock object holds (sealed with the repository's key, with `lock <id>` as its context). */
interface LockObject {
  kind: LockKind;
  owner: LockOwner;
  created_at: string;
  purpose: string;
}

/** One object under `locks/`, read. */
type FoundLock =
  | { id: string; key: string; lock: LockObject }
  | { id: string; key: string; unreadable: string; modifiedAt: Date };

const LOCK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Pauses between attempts while waiting: from this, doubling, to the cap (times a random factor, so two
// acquirers that collided do not collide again).
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * Takes a lock on the repository (restic's rule): the lock object is written first, then every other lock
 * is read. A stale one is ignored (and deleted when taking an exclusive lock); a live one that conflicts
 * (either side exclusive, or one that cannot be read) makes this call delete its own object and either try
 * again after a short pause (while `waitMs` allows) or fail. Because each side writes before it lists, two
 * processes racing for conflicting locks may both fail, but never both succeed.
 * @throws StrongboxError `SERVER_STATE_CONFLICT` naming the holder (its purpose, host, pid and since when) and
 *   what to do; `ABORTED` when `signal` fires while waiting. Either way no lock object is left behind.
 * @throws RangeError for options out of range (an empty purpose, `refreshMs` above half of `staleAfterMs`).
 */
export async function lockRepository(repo: Repository, options: LockOptions): Promise<RepositoryLock> {
  const settings = checkOptions(options);
  const { kind, purpose, waitMs, signal } = settings;
  const what = `Taking the repository's ${kind} lock for "${purpose}"`;
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal, what);
    const id = randomUUID();
    const key = lockKey(repo, id);
    const created = settings.now();
    const lock: LockObject = {
      kind,
      owner: { host: settings.host, pid: process.pid, heartbeat_at: created.toISOString() },
      created_at: created.toISOString(),
      purpose,
    };
    await writeLock(repo, id, lock);
    let blockers: FoundLock[];
    try {
      blockers = await conflicting(repo, id, kind, settings);
      if (blockers.length === 0) throwIfAborted(signal, what);
    } catch (error) {
      await repo.storage.delete(key).catch(() => {});
      throw error;
    }
    if (blockers.length === 0) return holdLock(repo, id, lock, settings);
    await repo.storage.delete(key);
    const left = waitMs - (performance.now() - started);
    if (left <= 0) throw conflictError(settings, blockers, waitMs);
    const pause = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt) * (0.5 + Math.random());
    try {
      await delay(Math.min(left, pause), undefined, { signal });
    } catch (error) {
      if (signal?.aborted) throw abortError(signal, what);
      throw error;
    }
  }
}

/**
 * Every lock object of the repository, oldest first, each judged stale or live by `rules`. Objects that
 * cannot be read are listed too, with {@link LockInfo.unreadable} set.
 */
export async function listLocks(repo: Repository, rules: StaleLockRules = {}): Promise<LockInfo[]> {
  const liveness = livenessOf(resolveRules(rules));
  const infos = (await readLocks(repo)).map((found): LockInfo => {
    if ("lock" in found) {
      const { lock } = found;
      return {
        id: found.id,
        kind: lock.kind,
        purpose: lock.purpose,
        owner: { ...lock.owner },
        created_at: lock.created_at,
        stale: isAbandoned(lock, liveness),
      };
    }
    const at = found.modifiedAt.toISOString();
    return {
      id: found.id,
      kind: "exclusive",
      purpose: "",
      owner: { host: "", pid: 0, heartbeat_at: at },
      created_at: at,
      stale: false,
      unreadable: found.unreadable,
    };
  });
  return infos.sort((a, b) =>
    a.created_at === b.created_at ? compare(a.id, b.id) : compare(a.created_at, b.created_at),
  );
}

/**
 * Deletes the repository's stale locks (see {@link StaleLockRules}) and returns their ids. Locks that cannot
 * be read are never judged stale, so never removed here.
 */
export async function removeStaleLocks(repo: Repository, rules: StaleLockRules = {}): Promise<string[]> {
  const liveness = livenessOf(resolveRules(rules));
  const removed: string[] = [];
  for (const found of await readLocks(repo)) {
    if ("lock" in found && isAbandoned(found.lock, liveness)) {
      await repo.storage.delete(found.key);
      removed.push(found.id);
    }
  }
  return removed;
}

type Settings = Required<Omit<LockOptions, "signal">> & Pick<LockOptions, "signal">;
type Rules = Required<StaleLockRules>;

function resolveRules(rules: StaleLockRules): Rules {
  const staleAfterMs = rules.staleAfterMs ?? DEFAULT_LOCK_STALE_AFTER_MS;
  if (!(staleAfterMs > 0 && Number.isFinite(staleAfterMs))) {
    throw new RangeError("staleAfterMs must be a positive number of milliseconds.");
  }
  return { host: rules.host ?? hostname(), now: rules.now ?? (() => new Date()), staleAfterMs };
}

function checkOptions(options: LockOptions): Settings {
  const rules = resolveRules(options);
  const { kind, purpose } = options;
  if (kind !== "shared" && kind !== "exclusive") {
    throw new RangeError(`A lock is "shared" or "exclusive", not ${JSON.stringify(kind)}.`);
  }
  if (typeof purpose !== "string" || purpose.trim() === "") {
    throw new RangeError('A lock needs a purpose (shown to whoever it blocks), e.g. "prune".');
  }
  const refreshMs = options.refreshMs ?? Math.min(DEFAULT_LOCK_REFRESH_MS, rules.staleAfterMs / 2);
  if (!(refreshMs > 0 && refreshMs <= rules.staleAfterMs / 2)) {
    throw new RangeError(
      "refreshMs must be positive and at most half of staleAfterMs: a lock must survive one failed refresh.",
    );
  }
  const waitMs = options.waitMs ?? 0;
  if (!(waitMs >= 0)) throw new RangeError("waitMs must be 0 or more milliseconds.");
  return { ...rules, kind, purpose, refreshMs, waitMs, signal: options.signal };
}

function livenessOf(rules: Rules): LivenessRules {
  return { host: rules.host, now: rules.now(), staleAfterMs: rules.staleAfterMs };
}

function lockKey(repo: Repository, id: string): string {
  return `${repo.prefix}locks/${id}`;
}

function writeLock(repo: Repository, id: string, lock: LockObject): Promise<void> {
  const plain = Buffer.from(JSON.stringify(lock));
  return writeSmallObject(repo.storage, lockKey(repo, id), repo.sealObject(plain, `lock ${id}`));
}

/**
 * The live locks other than `mine` that a `kind` lock cannot be taken beside. Stale ones are skipped, and
 * deleted when taking an exclusive lock.
 */
async function conflicting(repo: Repository, mine: string, kind: LockKind, rules: Rules) {
  const liveness = livenessOf(rules);
  const blockers: FoundLock[] = [];
  for (const found of await readLocks(repo, mine)) {
    if ("lock" in found) {
      if (isAbandoned(found.lock, liveness)) {
        if (kind === "exclusive") await repo.storage.delete(found.key);
        continue;
      }
      if (kind === "exclusive" || found.lock.kind === "exclusive") blockers.push(found);
    } else {
      blockers.push(found);
    }
  }
  return blockers;
}

/** Every object under `locks/` but `skip`, read; those deleted between the listing and the read are left out. */
async function readLocks(repo: Repository, skip?: string): Promise<FoundLock[]> {
  const folder = `${repo.prefix}locks/`;
  const listed: { id: string; key: string; modifiedAt: Date }[] = [];
  for await (const info of repo.storage.list(folder)) {
    const id = info.key.slice(folder.length);
    if (id !== skip) listed.push({ id, key: info.key, modifiedAt: info.modifiedAt });
  }
  const read = await Promise.all(listed.map((entry) => readLock(repo, entry)));
  return read.filter((found) => found !== undefined);
}

async function readLock(
  repo: Repository,
  entry: { id: string; key: string; modifiedAt: Date },
): Promise<FoundLock | undefined> {
  const unreadable = (reason: string): FoundLock => ({ ...entry, unreadable: reason });
  if (!LOCK_ID.test(entry.id)) return unreadable("its name is not a lock id");
  let stored: Buffer | undefined;
  try {
    stored = await readSmallObject(repo.storage, entry.key, "a lock");
  } catch (error) {
    if (isStrongboxError(error, "INVALID_INPUT")) return unreadable("it is too large to be a lock");
    throw error;
  }
  if (!stored) return undefined;
  let plain: Buffer;
  try {
    plain = repo.openObject(stored, `lock ${entry.id}`);
  } catch (error) {
    if (isStrongboxError(error, "INVALID_INPUT")) {
      return unreadable("it fails authentication: damaged, or not sealed with this repository's key");
    }
    throw error;
  }
  const value = parseObject(plain);
  const owner = value?.owner as Partial<LockOwner> | undefined;
  const isTime = (time: unknown) => typeof time === "string" && Number.isFinite(Date.parse(time));
  const valid =
    (value?.kind === "shared" || value?.kind === "exclusive") &&
    typeof value.purpose === "string" &&
    isTime(value.created_at) &&
    typeof owner?.host === "string" &&
    typeof owner.pid === "number" &&
    isTime(owner.heartbeat_at);
  if (!valid) return unreadable("it does not hold a lock (a field is missing or wrong)");
  const lock = value as unknown as LockObject;
  return { id: entry.id, key: entry.key, lock };
}

/** Keeps a lock's heartbeat fresh until it is released or lost. */
function holdLock(repo: Repository, id: string, lock: LockObject, settings: Settings): RepositoryLock {
  const key = lockKey(repo, id);
  const { purpose, staleAfterMs, now } = settings;
  let heartbeat = Date.parse(lock.owner.heartbeat_at);
  let lost: StrongboxError | undefined;
  let released = false;
  let releasing: Promise<void> | undefined;
  // Refreshes run one at a time, and the delete after them: a late refresh never brings a lock back.
  let chain: Promise<unknown> = Promise.resolve();

  const lose = (why: string) => {
    lost ??= new StrongboxError(
      "SERVER_STATE_CONFLICT",
      `The repository's ${lock.kind} lock for "${purpose}" was lost: ${why}. Stop without committing anything ` +
        "(another process may hold an exclusive lock and be deleting data), then start again.",
      { details: { lock: id, kind: lock.kind, purpose } },
    );
    clearInterval(timer);
    return lost;
  };
  const assertHeld = () => {
    if (released) {
      throw new StrongboxError(
        "SERVER_STATE_CONFLICT",
        `The repository's ${lock.kind} lock for "${purpose}" was released; take a new one.`,
        { details: { lock: id, kind: lock.kind, purpose } },
      );
    }
    if (lost) throw lost;
    if (now().getTime() - heartbeat > staleAfterMs) {
      throw lose(
        `it was last refreshed at ${new Date(heartbeat).toISOString()}, more than ${duration(staleAfterMs)} ago, ` +
          "so others may have judged it stale and removed it",
      );
    }
  };
  const rewrite = async () => {
    assertHeld();
    if (!(await repo.storage.stat(key))) {
      throw lose("its object was deleted (by a process that judged it stale, or by hand)");
    }
    const at = now();
    await writeLock(repo, id, { ...lock, owner: { ...lock.owner, heartbeat_at: at.toISOString() } });
    heartbeat = at.getTime();
  };
  const refresh = () => {
    const run = chain.then(rewrite);
    chain = run.catch(() => {});
    return run;
  };
  const timer = setInterval(() => {
    refresh().catch(() => {});
  }, settings.refreshMs);
  timer.unref();

  return {
    id,
    kind: lock.kind,
    assertHeld,
    refresh,
    release() {
      releasing ??= (async () => {
        released = true;
        clearInterval(timer);
        await chain;
        await repo.storage.delete(key);
      })().catch((error: unknown) => {
        releasing = undefined;
        throw error;
      });
      return releasing;
    },
  };
}

function conflictError(settings: Settings, blockers: FoundLock[], waitedMs: number): StrongboxError {
  const first = blockers.find((found) => "lock" in found) ?? blockers[0]!;
  const others = blockers.length - 1;
  const wanted = `a ${settings.kind} lock for "${settings.purpose}" cannot be taken`;
  const waited = waitedMs > 0 ? ` (after waiting ${duration(waitedMs)})` : "";
  const andOthers = others > 0 ? `, nor beside ${others} other lock(s)` : "";
  const details: Record<string, unknown> = {
    wanted: settings.kind,
    purpose: settings.purpose,
    holder:
      "lock" in first ? { id: first.id, ...first.lock } : { id: first.id, unreadable: first.unreadable },
    locks: blockers.length,
  };
  if (!("lock" in first)) {
    return new StrongboxError(
      "SERVER_STATE_CONFLICT",
      `The repository's lock object "${first.key}" cannot be read (${first.unreadable}), so it counts as a ` +
        `live exclusive lock and ${wanted}${waited}. If no Strongbox process is using this repository, ` +
        "delete that object from the storage and try again.",
      { details },
    );
  }
  const { lock } = first;
  const { host, pid, heartbeat_at } = lock.owner;
  const holder =
    `${lock.kind === "exclusive" ? "an exclusive" : "a shared"} lock for "${lock.purpose}", held by process ` +
    `${pid} on ${host === settings.host ? "this host" : `host "${host}"`} since ${lock.created_at} ` +
    `(last refreshed ${heartbeat_at})`;
  const staleAt = new Date(Date.parse(heartbeat_at) + settings.staleAfterMs).toISOString();
  const ifGone =
    host === settings.host
      ? `If process ${pid} is stuck, stop it: the lock of a process that has ended here is stale at once.`
      : `If that process is gone, its lock becomes stale ${duration(settings.staleAfterMs)} after its last ` +
        `refresh (at ${staleAt}); remove it then (removeStaleLocks, or the next exclusive lock does it).`;
  return new StrongboxError(
    "SERVER_STATE_CONFLICT",
    `The repository is locked by ${holder}: ${wanted} beside it${andOthers}${waited}. Wait for it to end and ` +
      `try again. ${ifGone}`,
    { details },
  );
}

/** `30 min`, `2 h`, `1.5 s`: a duration for a person. */
function duration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
