import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { hostname } from "node:os";
import { Readable } from "node:stream";
import { isProcessAlive, type StorageAdapter, StrongboxError } from "@strongbox/core";
import { afterEach, describe, expect, test } from "vitest";
import {
  initRepository,
  type LockKind,
  listLocks,
  lockRepository,
  openRepository,
  type Repository,
  type RepositoryLock,
  removeStaleLocks,
} from "../src/index.js";
import { useRepositoryStorages } from "./fixtures/storages.js";

// Cheap scrypt for tests: the format is the same, only slower to guess.
const KDF = { N: 2 ** 10, r: 8, p: 1 };
const PURPOSE = "backup of server planted-marker-7f3a";
const MINUTE = 60_000;

const held: RepositoryLock[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((lock) => lock.release().catch(() => {})));
});

const STORAGES = useRepositoryStorages("locks");

const PASSWORDS: [string, string | undefined][] = [
  ["without a password", undefined],
  ["with a password", "pw"],
];

/** A storage that tells who waits for it of every object it deletes. */
function watchingDeletes(inner: StorageAdapter) {
  let waiters: { match: (key: string) => boolean; resolve: () => void }[] = [];
  const storage: StorageAdapter = {
    ...inner,
    async delete(key) {
      await inner.delete(key);
      const [done, rest] = [waiters.filter((w) => w.match(key)), waiters.filter((w) => !w.match(key))];
      waiters = rest;
      for (const waiter of done) waiter.resolve();
    },
  };
  const deleted = (match: (key: string) => boolean) =>
    new Promise<void>((resolve) => waiters.push({ match, resolve }));
  return { storage, deleted };
}

/** The keys and bytes of every object under `repo/locks/`. */
async function lockObjects(storage: StorageAdapter): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for await (const info of storage.list("repo/locks/")) {
    const parts: Buffer[] = [];
    for await (const part of await storage.get(info.key)) parts.push(Buffer.from(part as Uint8Array));
    found.set(info.key, Buffer.concat(parts));
  }
  return found;
}

/** Writes a lock object as another process would have: the documented format, sealed. */
async function plantLock(
  repo: Repository,
  lock: { kind: LockKind; host: string; pid: number; heartbeat_at?: string; purpose?: string },
): Promise<string> {
  const id = randomUUID();
  const at = lock.heartbeat_at ?? new Date().toISOString();
  const body = {
    kind: lock.kind,
    owner: { host: lock.host, pid: lock.pid, heartbeat_at: at },
    created_at: at,
    purpose: lock.purpose ?? "planted",
  };
  const sealed = repo.sealObject(Buffer.from(JSON.stringify(body)), `lock ${id}`);
  await repo.storage.put(`${repo.prefix}locks/${id}`, Readable.from([sealed]));
  return id;
}

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  expect(isProcessAlive(child.pid!)).toBe(false);
  return child.pid!;
}

async function refused(promise: Promise<unknown>): Promise<StrongboxError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StrongboxError);
  return error as StrongboxError;
}

async function take(repo: Repository, kind: LockKind, purpose: string, more = {}): Promise<RepositoryLock> {
  const lock = await lockRepository(repo, { kind, purpose, ...more });
  held.push(lock);
  return lock;
}

describe.each(STORAGES)("repository locks on %s", (_, makeStorage) => {
  const init = async (password: string | undefined, storage?: StorageAdapter) =>
    initRepository({
      storage: storage ?? (await makeStorage()),
      prefix: "repo",
      ...(password ? { password, kdf: KDF } : {}),
    });

  test.each(PASSWORDS)("two shared locks coexist; release removes each object %s", async (_, password) => {
    const repo = await init(password);
    const first = await take(repo, "shared", "backup of server a");
    const second = await take(repo, "shared", "backup of server b");
    expect(first.id).not.toBe(second.id);
    first.assertHeld();
    second.assertHeld();

    const locks = await listLocks(repo);
    expect(locks.map((lock) => [lock.id, lock.kind, lock.stale]).sort()).toEqual(
      [
        [first.id, "shared", false],
        [second.id, "shared", false],
      ].sort(),
    );
    const info = locks.find((lock) => lock.id === first.id)!;
    expect(info.purpose).toBe("backup of server a");
    expect(info.owner).toMatchObject({ host: hostname(), pid: process.pid });
    expect(info.unreadable).toBeUndefined();
    expect([...(await lockObjects(repo.storage)).keys()].sort()).toEqual(
      [`repo/locks/${first.id}`, `repo/locks/${second.id}`].sort(),
    );

    await first.release();
    expect([...(await lockObjects(repo.storage)).keys()]).toEqual([`repo/locks/${second.id}`]);
    await first.release(); // idempotent
    expect(() => first.assertHeld()).toThrow(expect.objectContaining({ code: "SERVER_STATE_CONFLICT" }));
    await expect(first.refresh()).rejects.toMatchObject({ code: "SERVER_STATE_CONFLICT" });
    await second.release();
    expect((await lockObjects(repo.storage)).size).toBe(0);
  });

  test.each(PASSWORDS)(
    "an exclusive lock is refused beside a live shared one, and a shared one beside an exclusive one %s",
    async (_, password) => {
      const repo = await init(password);
      const shared = await take(repo, "shared", PURPOSE);
      const error = await refused(lockRepository(repo, { kind: "exclusive", purpose: "prune" }));
      expect(error.code).toBe("SERVER_STATE_CONFLICT");
      expect(error.message).toContain(`"${PURPOSE}"`);
      expect(error.message).toContain(`process ${process.pid} on this host`);
      expect(error.message).toMatch(/since \d{4}-\d\d-\d\dT/);
      expect(error.details).toMatchObject({ wanted: "exclusive", holder: { id: shared.id, kind: "shared" } });
      // The refused side took its own object away.
      expect([...(await lockObjects(repo.storage)).keys()]).toEqual([`repo/locks/${shared.id}`]);
      await shared.release();

      const exclusive = await take(repo, "exclusive", "prune");
      for (const kind of ["shared", "exclusive"] as const) {
        const error = await refused(lockRepository(repo, { kind, purpose: PURPOSE }));
        expect(error.code).toBe("SERVER_STATE_CONFLICT");
        expect(error.message).toContain('an exclusive lock for "prune"');
        expect([...(await lockObjects(repo.storage)).keys()]).toEqual([`repo/locks/${exclusive.id}`]);
      }
      await exclusive.release();
      expect((await lockObjects(repo.storage)).size).toBe(0);
    },
  );

  test.each(PASSWORDS)(
    "a lock whose process has ended on this host is stale and does not block an exclusive lock, which removes it %s",
    async (_, password) => {
      const repo = await init(password);
      const pid = await deadPid();
      const dead = await plantLock(repo, { kind: "shared", host: hostname(), pid });
      // The same pid on another host cannot be checked from here: that lock is live.
      const elsewhere = await plantLock(repo, { kind: "shared", host: "another-host", pid });

      const locks = await listLocks(repo);
      expect(locks.find((lock) => lock.id === dead)?.stale).toBe(true);
      expect(locks.find((lock) => lock.id === elsewhere)?.stale).toBe(false);
      const error = await refused(lockRepository(repo, { kind: "exclusive", purpose: "prune" }));
      expect(error.message).toContain(`process ${pid} on host "another-host"`);
      expect(error.message).toContain("30 min after its last refresh");
      await repo.storage.delete(`repo/locks/${elsewhere}`);

      const exclusive = await take(repo, "exclusive", "prune");
      expect([...(await lockObjects(repo.storage)).keys()]).toEqual([`repo/locks/${exclusive.id}`]);
    },
  );

  test.each(PASSWORDS)(
    "a lock whose heartbeat is older than staleAfterMs is stale on any host %s",
    async (_, password) => {
      const repo = await init(password);
      const longAgo = new Date(Date.now() - 2 * 60 * MINUTE);
      const old = await take(repo, "shared", "backup", { host: "another-host", now: () => longAgo });
      const alive = await take(repo, "shared", "backup of today");

      expect((await listLocks(repo)).map((lock) => [lock.id, lock.stale])).toEqual([
        [old.id, true],
        [alive.id, false],
      ]);
      // Judged by a longer staleAfterMs, it is live.
      expect((await listLocks(repo, { staleAfterMs: 3 * 60 * MINUTE }))[0]?.stale).toBe(false);
      expect(await removeStaleLocks(repo, { staleAfterMs: 3 * 60 * MINUTE })).toEqual([]);

      expect(await removeStaleLocks(repo)).toEqual([old.id]);
      expect([...(await lockObjects(repo.storage)).keys()]).toEqual([`repo/locks/${alive.id}`]);
      // Its holder finds out at its next refresh, and does not write it back.
      await expect(old.refresh()).rejects.toMatchObject({ code: "SERVER_STATE_CONFLICT" });
      expect(() => old.assertHeld()).toThrow(/was lost: its object was deleted/);
      expect([...(await lockObjects(repo.storage)).keys()]).toEqual([`repo/locks/${alive.id}`]);

      // An exclusive acquirer removes such a lock itself.
      await alive.release();
      const stale = await plantLock(repo, {
        kind: "exclusive",
        host: "another-host",
        pid: 1,
        heartbeat_at: longAgo.toISOString(),
      });
      const exclusive = await take(repo, "exclusive", "prune");
      expect((await listLocks(repo)).map((lock) => lock.id)).toEqual([exclusive.id]);
      expect(stale).not.toBe(exclusive.id);
    },
  );

  test.each(PASSWORDS)(
    "refresh() moves heartbeat_at; a lock not refreshed for staleAfterMs is lost %s",
    async (_, password) => {
      const repo = await init(password);
      let clock = new Date();
      const lock = await take(repo, "exclusive", "prune", { now: () => clock });
      const heartbeat = async () => (await listLocks(repo, { now: () => clock }))[0]?.owner.heartbeat_at;
      expect(await heartbeat()).toBe(clock.toISOString());
      const created = clock.toISOString();

      clock = new Date(clock.getTime() + MINUTE);
      await lock.refresh();
      expect(await heartbeat()).toBe(clock.toISOString());
      expect((await listLocks(repo, { now: () => clock }))[0]).toMatchObject({
        created_at: created,
        stale: false,
      });
      lock.assertHeld();

      // No refresh for longer than staleAfterMs (the default 30 minutes): others may remove it.
      clock = new Date(clock.getTime() + 31 * MINUTE);
      expect(() => lock.assertHeld()).toThrow(expect.objectContaining({ code: "SERVER_STATE_CONFLICT" }));
      expect(() => lock.assertHeld()).toThrow(/last refreshed .* more than 30 min ago/);
      await expect(lock.refresh()).rejects.toMatchObject({ code: "SERVER_STATE_CONFLICT" });
      await lock.release();
      expect((await lockObjects(repo.storage)).size).toBe(0);
    },
  );

  test.each(PASSWORDS)(
    "assertHeld throws once the lock object was deleted behind its back %s",
    async (_, password) => {
      const repo = await init(password);
      const lock = await take(repo, "shared", PURPOSE);
      await repo.storage.delete(`repo/locks/${lock.id}`);
      await expect(lock.refresh()).rejects.toMatchObject({ code: "SERVER_STATE_CONFLICT" });
      expect(() => lock.assertHeld()).toThrow(expect.objectContaining({ code: "SERVER_STATE_CONFLICT" }));
      expect(() => lock.assertHeld()).toThrow(/Stop without committing/);
      expect((await lockObjects(repo.storage)).size).toBe(0);
      await lock.release();
    },
  );

  test.each(PASSWORDS)(
    "waitMs: an exclusive lock waiting on a shared one gets it once that is released %s",
    async (_, password) => {
      const { storage, deleted } = watchingDeletes(await makeStorage());
      const repo = await init(password, storage);
      const shared = await take(repo, "shared", PURPOSE);
      const sharedKey = `repo/locks/${shared.id}`;
      // Its first attempt: written, the shared lock seen, its own object taken away again.
      const firstAttempt = deleted((key) => key.startsWith("repo/locks/") && key !== sharedKey);
      const waiting = lockRepository(repo, { kind: "exclusive", purpose: "prune", waitMs: 10 * MINUTE });
      await firstAttempt;
      await shared.release();
      const exclusive = await waiting;
      held.push(exclusive);
      exclusive.assertHeld();
      expect((await listLocks(repo)).map((lock) => [lock.id, lock.kind])).toEqual([
        [exclusive.id, "exclusive"],
      ]);
    },
  );

  test.each(PASSWORDS)(
    "waitMs: a waiting lock stops when its signal fires, or its time runs out, and leaves nothing behind %s",
    async (_, password) => {
      const { storage, deleted } = watchingDeletes(await makeStorage());
      const repo = await init(password, storage);
      const shared = await take(repo, "shared", PURPOSE);
      const sharedKey = `repo/locks/${shared.id}`;
      const controller = new AbortController();
      const firstAttempt = deleted((key) => key.startsWith("repo/locks/") && key !== sharedKey);
      const waiting = lockRepository(repo, {
        kind: "exclusive",
        purpose: "prune",
        waitMs: 10 * MINUTE,
        signal: controller.signal,
      });
      await firstAttempt;
      controller.abort();
      expect((await refused(waiting)).code).toBe("ABORTED");
      expect([...(await lockObjects(storage)).keys()]).toEqual([sharedKey]);

      const error = await refused(lockRepository(repo, { kind: "exclusive", purpose: "prune", waitMs: 50 }));
      expect(error.code).toBe("SERVER_STATE_CONFLICT");
      expect(error.message).toContain("after waiting");
      expect([...(await lockObjects(storage)).keys()]).toEqual([sharedKey]);
    },
  );

  test.each(PASSWORDS)(
    "two exclusive locks taken at once never both succeed (10 runs) %s",
    async (_, password) => {
      const repo = await init(password);
      const other = await openRepository({
        storage: repo.storage,
        prefix: "repo",
        ...(password ? { password } : {}),
      });
      for (let run = 0; run < 10; run++) {
        const results = await Promise.allSettled([
          lockRepository(repo, { kind: "exclusive", purpose: `prune ${run} a` }),
          lockRepository(other, { kind: "exclusive", purpose: `prune ${run} b` }),
        ]);
        const won = results.filter((result) => result.status === "fulfilled");
        expect(won.length).toBeLessThanOrEqual(1);
        for (const result of results) {
          if (result.status === "rejected")
            expect(result.reason).toMatchObject({ code: "SERVER_STATE_CONFLICT" });
        }
        for (const result of won) await result.value.release();
        expect((await lockObjects(repo.storage)).size).toBe(0);
      }
    },
  );

  test.each(PASSWORDS)("the purpose is in a lock object only without a password %s", async (_, password) => {
    const repo = await init(password);
    // A host name long enough that random sealed bytes never hold it by chance (this machine's is "vm").
    const host = "host-name-marker-7d41";
    await take(repo, "shared", PURPOSE, { host });
    await take(repo, "shared", PURPOSE, { host });
    const objects = [...(await lockObjects(repo.storage)).values()];
    expect(objects).toHaveLength(2);
    for (const bytes of objects) {
      expect(bytes.includes(PURPOSE)).toBe(password === undefined);
      expect(bytes.includes(host)).toBe(password === undefined);
    }
  });

  test.each(PASSWORDS)(
    "an object under locks/ that is not a readable lock blocks every lock, with a clear message %s",
    async (_, password) => {
      const repo = await init(password);
      for (const name of [randomUUID(), "not-a-lock"]) {
        const key = `repo/locks/${name}`;
        await repo.storage.put(key, Readable.from([Buffer.from("{ this is not a lock")]));
        for (const kind of ["exclusive", "shared"] as const) {
          const error = await refused(lockRepository(repo, { kind, purpose: "prune" }));
          expect(error.code).toBe("SERVER_STATE_CONFLICT");
          expect(error.message).toContain(`lock object "${key}" cannot be read`);
          expect(error.message).toContain("counts as a live exclusive lock");
          expect(error.message).toContain("delete that object");
          expect([...(await lockObjects(repo.storage)).keys()]).toEqual([key]);
        }
        const [info] = await listLocks(repo);
        expect(info).toMatchObject({ id: name, stale: false, kind: "exclusive" });
        expect(info?.unreadable).toBeTruthy();
        expect(await removeStaleLocks(repo)).toEqual([]);
        await repo.storage.delete(key);
      }
      if (password) {
        // A real lock object under another id fails authentication: sealed for that id only.
        const id = await plantLock(repo, { kind: "shared", host: hostname(), pid: process.pid });
        const [bytes] = (await lockObjects(repo.storage)).values();
        await repo.storage.delete(`repo/locks/${id}`);
        const moved = `repo/locks/${randomUUID()}`;
        await repo.storage.put(moved, Readable.from([bytes!]));
        const error = await refused(lockRepository(repo, { kind: "shared", purpose: "backup" }));
        expect(error.message).toContain("fails authentication");
      }
    },
  );
});
