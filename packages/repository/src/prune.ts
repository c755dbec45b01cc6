import { createHash } from "node:crypto";
import { isStrongboxError, StrongboxError, throwIfAborted } from "@strongbox/core/parts";
import type { SealedBlob } from "./blob-encoder.js";
import { ChunkIndex, type ChunkLocation, ID_BYTES } from "./chunk-index.js";
import { indexObjectLength } from "./index-object.js";
import { indexFolder, loadIndex, writeIndexObject } from "./index-store.js";
import { lockRepository, type RepositoryLock, removeStaleLocks } from "./locks.js";
import {
  createPackWriter,
  DEFAULT_PACK_BYTES,
  openBlob,
  type PackKind,
  packKey,
  readRange,
} from "./packs.js";
import type { Repository } from "./repository.js";
import { listSnapshotIds, readSnapshot, readTree, treeChunkIds } from "./snapshots.js";

/** A pack is repacked, by default, once this fraction of its stored bytes is unused. */
export const DEFAULT_REPACK_THRESHOLD = 0.2;
/** The index prune writes is split into objects of at most this many entries, by default (3 MiB each). */
export const DEFAULT_INDEX_OBJECT_ENTRIES = 64 * 1024;
/** Deletes in flight at once. */
const DELETES_AT_ONCE = 8;
/** A pack's key below `data/`: a folder of its id's first two hex digits, then its id. */
const PACK_KEY = /^([0-9a-f]{2})\/([0-9a-f]{32})$/;

/** Where a prune is (for a progress display). */
export interface PruneProgress {
  /**
   * `mark`: reading the snapshots' trees (`done` / `total` snapshots); `repack`: copying the used chunks of
   * packs (packs); `index`: writing the new index (objects); `delete`: deleting the old index objects and the
   * packs no longer needed (objects).
   */
  phase: "mark" | "repack" | "index" | "delete";
  done: number;
  total: number;
}

/** Options of {@link prune}. */
export interface PruneOptions {
  /**
   * Repack a pack (copy its used chunks into new packs, then delete it) when at least this fraction of its
   * stored bytes is unused (neither a chunk a snapshot uses nor the pack's header); 0 repacks every pack
   * holding anything unused, 1 only deletes packs wholly unused (default 0.2).
   */
  repackThreshold?: number;
  /**
   * Report what a prune would do without changing anything: no lock object stays, no stale lock is removed
   * and nothing is written or deleted. It takes a shared lock (backups may run beside it) so that no prune
   * or forget changes the repository while it reads; `packsWritten` and `bytesFreed` are computed from the
   * chunks' stored sizes (a repack stores each chunk at the same size again). Beside a running backup, the
   * packs it has uploaded but not yet indexed count as unindexed in the report (a real prune waits for it).
   */
  dryRun?: boolean;
  /** How long to wait for other locks (backups' shared ones) to go (default 0: fail at once). */
  lockWaitMs?: number;
  /**
   * Stops the prune: `ABORTED`. Honoured while waiting for the lock, marking and repacking; once the new
   * index is written the prune finishes its deletes (a stop there would only leave them for the next one).
   */
  signal?: AbortSignal;
  /** Called as the prune goes: at the start and end of each phase and after each step of it. */
  onProgress?: (progress: PruneProgress) => void;
  /** Entries per index object written (default 65,536): a larger index is split into several objects. */
  indexObjectEntries?: number;
}

/** What a prune did (or, with `dryRun`, would do). */
export interface PruneResult {
  dryRun: boolean;
  /** Snapshots whose trees were read: every chunk they use was kept. */
  snapshots: number;
  /** Packs deleted because no snapshot uses any chunk in them. */
  packsDeleted: number;
  /** Packs whose used chunks were copied into new packs, then deleted. */
  packsRepacked: number;
  /** New packs written by the repack. */
  packsWritten: number;
  /** Packs on the storage that no index object lists (left by interrupted backups or prunes), deleted. */
  unindexedPacksDeleted: number;
  /** Stored bytes of the packs deleted (all three kinds) minus those of the packs written. */
  bytesFreed: number;
  /** Index entries dropped: chunks no snapshot uses in packs deleted or repacked. */
  chunksRemoved: number;
  /** Used chunks copied into new packs. */
  chunksRepacked: number;
  /** Old index objects deleted once the new index was written (0 when the index did not change). */
  indexObjectsReplaced: number;
  /** Index objects written. */
  indexObjectsWritten: number;
  /** Ids of the stale locks removed before taking the exclusive lock (none in a dry run). */
  staleLocksRemoved: string[];
}

type Fate = "keep" | "repack" | "delete" | "missing";

/** What the index says of one pack, and how much of it the snapshots use. */
interface PackUse {
  entries: number;
  used: number;
  usedBytes: number;
  fate: Fate;
}

/**
 * Removes what no snapshot uses (after `forgetSnapshots`): packs holding no used chunk are deleted,
 * packs where at least `repackThreshold` of the stored bytes is unused are repacked (their used chunks
 * copied into new packs), packs on the storage that no index lists are deleted, and the index is rewritten
 * to match.
 *
 * restic's rule: a prune takes the repository's **exclusive** lock, so no backup is in flight (backups hold
 * shared locks, and load the index under them, so every chunk a backup reuses stays until its snapshot
 * is written) and a backup that starts while the prune runs is refused by the lock (or waits, with its
 * `lockWaitMs`). Stale locks are removed first (their ids are in the result).
 *
 * The steps are ordered so that a prune stopped at any point (killed, a storage error) leaves a repository
 * where every snapshot restores and a new prune finishes the job:
 * 1. take the exclusive lock;
 * 2. load the index and list the packs on the storage;
 * 3. mark every chunk each snapshot's tree and files use (a bit per index entry); a snapshot that cannot be
 *    read, or that uses a chunk the index lacks or whose pack is missing, refuses the prune
 *    (`INVALID_INPUT`: run check), which never deletes data from a partial view of what is used;
 * 4. decide each pack's fate (keep, repack, delete);
 * 5. write the new packs, then the new index (every entry of the packs kept, and the new locations of the
 *    chunks repacked) as one object, or several of `indexObjectEntries` entries;
 * 6. check the lock is still held (its object re-read), then delete the old index objects;
 * 7. delete the packs dropped (last: until the old index objects are all gone, some may still name them);
 * 8. release the lock.
 * Stopped in step 5, new packs are left that no index lists: the next prune deletes them. Stopped in step 5
 * or 6, old and new index objects both list some chunks: {@link loadIndex} keeps one location of each, and
 * either is valid, since every pack either names still exists. Stopped in step 7, the index names no pack
 * being deleted, and the packs left are unindexed ones the next prune deletes.
 *
 * Unindexed packs are deleted without regard to their age: under the exclusive lock no backup can be
 * writing one. Only a backup whose lock was lost (its process paused past the stale time, 30 minutes, then
 * resumed) could; it finds out and writes no snapshot, but an index object it wrote before finding out
 * may name a pack this prune deleted (restic has the same window).
 *
 * @throws StrongboxError `SERVER_STATE_CONFLICT` while another process holds a lock (after `lockWaitMs`), or
 *   when the lock is lost before the deletes; `INVALID_INPUT` when a snapshot cannot be read or a used chunk
 *   is missing or damaged (nothing deleted: run check); `ABORTED` when the signal fires.
 * @throws RangeError for options out of range.
 */
export async function prune(repo: Repository, options: PruneOptions = {}): Promise<PruneResult> {
  const threshold = options.repackThreshold ?? DEFAULT_REPACK_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new RangeError("repackThreshold is a fraction of a pack's bytes, from 0 to 1.");
  }
  const perObject = options.indexObjectEntries ?? DEFAULT_INDEX_OBJECT_ENTRIES;
  if (!(Number.isInteger(perObject) && perObject > 0)) {
    throw new RangeError("indexObjectEntries must be a positive whole number.");
  }
  const dryRun = options.dryRun ?? false;
  const { signal } = options;
  const staleLocksRemoved = dryRun ? [] : await removeStaleLocks(repo);
  const lock = await lockRepository(repo, {
    kind: dryRun ? "shared" : "exclusive",
    purpose: dryRun ? "prune (dry run)" : "prune",
    waitMs: options.lockWaitMs ?? 0,
    ...(signal ? { signal } : {}),
  });
  try {
    const run = new PruneRun(repo, lock, { ...options, threshold, perObject, dryRun });
    return { ...(await run.run()), staleLocksRemoved };
  } finally {
    await lock.release();
  }
}

interface RunOptions extends PruneOptions {
  threshold: number;
  perObject: number;
  dryRun: boolean;
}

class PruneRun {
  private index = new ChunkIndex();
  private used = new Uint8Array(0);
  /** A bit for every index entry that is a snapshot tree's chunk: repacked into packs of their own. */
  private trees = new Uint8Array(0);
  private readonly packs = new Map<string, PackUse>();

  constructor(
    private readonly repo: Repository,
    private readonly lock: RepositoryLock,
    private readonly options: RunOptions,
  ) {}

  async run(): Promise<Omit<PruneResult, "staleLocksRemoved">> {
    const { repo, options } = this;
    const { signal, dryRun } = options;
    const { index, objects } = await loadIndex(repo);
    this.index = index;
    const stored = await listPacks(repo);
    throwIfAborted(signal, "The prune");
    const snapshots = await this.markSnapshots();

    // Step 4: each pack's fate.
    for (let entry = 0; entry < index.size; entry++) {
      const [, location] = index.entryAt(entry);
      let use = this.packs.get(location.pack);
      if (!use) {
        use = { entries: 0, used: 0, usedBytes: 0, fate: "keep" };
        this.packs.set(location.pack, use);
      }
      use.entries++;
      if (this.isUsed(entry)) {
        use.used++;
        use.usedBytes += location.length;
      }
    }
    const sealing = repo.sealObject(Buffer.alloc(0), "size").length;
    const headerBytes = (chunks: number) => indexObjectLength([32], chunks) + sealing + 4;
    const dropped: { id: string; bytes: number }[] = [];
    let packsDeleted = 0;
    const repack: string[] = [];
    let keptEntries = 0;
    let chunksRepacked = 0;
    for (const [pack, use] of this.packs) {
      const size = stored.get(pack);
      if (size === undefined) {
        if (use.used > 0) {
          throw new StrongboxError(
            "INVALID_INPUT",
            `Pack ${pack} is missing from the storage, yet the index places ${use.used} chunk(s) snapshots ` +
              "use in it: the repository is damaged. Run check; the prune deleted nothing.",
            { details: { pack } },
          );
        }
        use.fate = "missing";
      } else if (use.used === 0) {
        use.fate = "delete";
        dropped.push({ id: pack, bytes: size });
        packsDeleted++;
      } else {
        const unused = size - use.usedBytes - headerBytes(use.entries);
        if (unused > 0 && unused >= options.threshold * size) {
          use.fate = "repack";
          repack.push(pack);
          dropped.push({ id: pack, bytes: size });
          chunksRepacked += use.used;
        } else {
          keptEntries += use.entries;
        }
      }
    }
    const unindexed = [...stored.keys()].filter((pack) => !this.packs.has(pack));
    for (const pack of unindexed) dropped.push({ id: pack, bytes: stored.get(pack)! });
    repack.sort();
    const entriesAfter = keptEntries + chunksRepacked;
    const objectsNeeded = Math.ceil(entriesAfter / options.perObject);
    const rewrite = entriesAfter !== index.size || repack.length > 0 || objects.length > objectsNeeded;
    const bytesDropped = dropped.reduce((sum, pack) => sum + pack.bytes, 0);
    const counts = {
      dryRun,
      snapshots,
      packsDeleted,
      packsRepacked: repack.length,
      unindexedPacksDeleted: unindexed.length,
      chunksRemoved: index.size - entriesAfter,
      chunksRepacked,
      indexObjectsReplaced: rewrite ? objects.length : 0,
      indexObjectsWritten: rewrite ? objectsNeeded : 0,
    };

    if (dryRun) {
      // The repack stores each chunk again at its stored size (same bytes, same deflate level), so the
      // packs it would write are those of its two writers (tree chunks, the others) fed these sizes.
      let packsWritten = 0;
      let bytesWritten = 0;
      const packer = () => {
        let size = 0;
        let chunks = 0;
        const close = () => {
          packsWritten++;
          bytesWritten += size + headerBytes(chunks);
          size = 0;
          chunks = 0;
        };
        return {
          add(length: number) {
            if (size > 0 && size + length > DEFAULT_PACK_BYTES) close();
            size += length;
            chunks++;
          },
          flush: () => chunks > 0 && close(),
        };
      };
      const [data, trees] = [packer(), packer()];
      const used = this.usedEntries(repack);
      for (const pack of repack) {
        for (const { entry, location } of this.byOffset(used.get(pack)!)) {
          (this.isTree(entry) ? trees : data).add(location.length);
        }
      }
      data.flush();
      trees.flush();
      return { ...counts, packsWritten, bytesFreed: bytesDropped - bytesWritten };
    }

    // Step 5: the new packs, then the new index naming them.
    const { packsWritten, bytesWritten, moved } = await this.repack(repack);
    let written = 0;
    if (rewrite) {
      const progress = (done: number) =>
        options.onProgress?.({ phase: "index", done, total: counts.indexObjectsWritten });
      progress(0);
      let batch: [Uint8Array, ChunkLocation][] = [];
      const write = async () => {
        await writeIndexObject(repo, batch);
        batch = [];
        progress(++written);
      };
      for (let entry = 0; entry < index.size; entry++) {
        const [id, location] = index.entryAt(entry);
        if (this.packs.get(location.pack)!.fate !== "keep") continue;
        batch.push([id, location]);
        if (batch.length === options.perObject) await write();
      }
      for (const item of moved.entries()) {
        batch.push(item);
        if (batch.length === options.perObject) await write();
      }
      if (batch.length > 0) await write();
    }

    // Steps 6 and 7: the old index objects, then the packs. Re-reading the lock object proves no one judged
    // this prune stale and went ahead beside it.
    await this.lock.refresh();
    const oldObjects = rewrite ? objects.map((id) => `${indexFolder(repo)}${id}`) : [];
    const total = oldObjects.length + dropped.length;
    let deleted = 0;
    const progress = () => options.onProgress?.({ phase: "delete", done: deleted, total });
    progress();
    const onDeleted = () => {
      deleted++;
      progress();
    };
    await this.deleteAll(oldObjects, onDeleted);
    await this.deleteAll(
      dropped.map((pack) => packKey(repo.prefix, pack.id)),
      onDeleted,
    );
    return {
      ...counts,
      packsWritten,
      bytesFreed: bytesDropped - bytesWritten,
      indexObjectsWritten: written,
    };
  }

  /**
   * Step 3: a bit for every index entry a snapshot uses (its tree's chunks and its files'); returns how many
   * snapshots were read. Snapshots with the very same tree (an unchanged server) are read once.
   */
  private async markSnapshots(): Promise<number> {
    const { repo, index, options } = this;
    const { signal } = options;
    this.used = new Uint8Array(Math.ceil(index.size / 8));
    this.trees = new Uint8Array(this.used.length);
    const ids = await listSnapshotIds(repo);
    const seen = new Set<string>();
    let read = 0;
    const progress = (done: number) => options.onProgress?.({ phase: "mark", done, total: ids.length });
    progress(0);
    for (const [n, id] of ids.entries()) {
      throwIfAborted(signal, "The prune");
      try {
        const snapshot = await readSnapshot(repo, id).catch((error: unknown) => {
          // Gone since the listing (nothing deletes one under the exclusive lock): it needs nothing.
          if (isStrongboxError(error, "NOT_FOUND")) return undefined;
          throw error;
        });
        if (snapshot) {
          read++;
          const tree = createHash("sha256").update(snapshot.tree.join(",")).digest("hex");
          if (!seen.has(tree)) {
            seen.add(tree);
            for (const chunk of treeChunkIds(snapshot)) this.markChunk(chunk);
            for await (const entry of readTree(repo, index, snapshot, signal)) {
              for (let at = 0; at < entry.chunks.length; at += ID_BYTES) {
                this.markChunk(entry.chunks.subarray(at, at + ID_BYTES), entry.path);
              }
            }
          }
        }
      } catch (error) {
        // Damage (a chunk missing or failing its check, a pack gone) refuses the prune; anything else (a
        // storage failure, the signal) just stops it.
        if (!isStrongboxError(error, "INVALID_INPUT") && !isStrongboxError(error, "NOT_FOUND")) throw error;
        throw new StrongboxError(
          "INVALID_INPUT",
          `Prune refused: snapshot ${id} cannot be read (${error.message}). Run check on the repository: ` +
            "a prune deletes nothing from a partial view of what the snapshots use.",
          { details: { snapshot: id }, cause: error },
        );
      }
      progress(n + 1);
    }
    return read;
  }

  /** Marks a chunk used: one of a file at `path`, or without a path one of a snapshot's tree. */
  private markChunk(id: Uint8Array, path?: string): void {
    const entry = this.index.entryNumber(id);
    if (entry < 0) {
      const hex = Buffer.from(id).toString("hex");
      throw new StrongboxError(
        "INVALID_INPUT",
        `chunk ${hex} ${path === undefined ? "of its tree" : `of "${path}"`} is not in the repository's index`,
        { details: { chunk: hex } },
      );
    }
    setBit(this.used, entry);
    if (path === undefined) setBit(this.trees, entry);
  }

  private isTree(entry: number): boolean {
    return hasBit(this.trees, entry);
  }

  private isUsed(entry: number): boolean {
    return hasBit(this.used, entry);
  }

  /** The numbers of the used entries of each of `packs` (a few bytes each), found in one pass. */
  private usedEntries(packs: readonly string[]): Map<string, number[]> {
    const found = new Map(packs.map((pack) => [pack, [] as number[]]));
    for (let entry = 0; entry < this.index.size; entry++) {
      if (this.isUsed(entry)) found.get(this.index.entryAt(entry)[1].pack)?.push(entry);
    }
    return found;
  }

  /** Some entries of one pack, in the order they are stored there. */
  private byOffset(entries: readonly number[]): { entry: number; id: Uint8Array; location: ChunkLocation }[] {
    return entries
      .map((entry) => {
        const [id, location] = this.index.entryAt(entry);
        return { entry, id, location };
      })
      .sort((a, b) => a.location.offset - b.location.offset);
  }

  /**
   * Copies the used chunks of `packs` into new packs, reading each old pack once (the span of its used
   * chunks, in one ranged read) and checking every chunk against its id on the way.
   */
  private async repack(
    packs: readonly string[],
  ): Promise<{ packsWritten: number; bytesWritten: number; moved: ChunkIndex }> {
    const { repo, options } = this;
    const moved = new ChunkIndex();
    let packsWritten = 0;
    let bytesWritten = 0;
    if (packs.length === 0) return { packsWritten, bytesWritten, moved };
    const writer = createPackWriter(repo, {
      onPackUploaded: ({ bytes }) => {
        packsWritten++;
        bytesWritten += bytes;
      },
    });
    const progress = (done: number) => options.onProgress?.({ phase: "repack", done, total: packs.length });
    progress(0);
    const wanted = this.usedEntries(packs);
    try {
      for (const [n, pack] of packs.entries()) {
        throwIfAborted(options.signal, "The prune");
        const items = this.byOffset(wanted.get(pack)!);
        wanted.delete(pack);
        const start = items[0]!.location.offset;
        let end = start;
        for (const { location } of items) end = Math.max(end, location.offset + location.length);
        const stored = await readRange(repo.storage, packKey(repo.prefix, pack), start, end - start);
        // Tree chunks stay in packs of their own (`PackKind`).
        const blobs: Record<PackKind, SealedBlob[]> = { data: [], tree: [] };
        for (const { entry, id, location } of items) {
          const blob = stored.subarray(location.offset - start, location.offset - start + location.length);
          try {
            // Checked (opened, inflated, hashed), then copied as it is stored: its seal binds only its id.
            await openBlob(repo, id, location, blob);
            blobs[this.isTree(entry) ? "tree" : "data"].push({ id, blob, rawLength: location.rawLength });
          } catch (error) {
            if (!isStrongboxError(error, "INVALID_INPUT")) throw error;
            throw new StrongboxError(
              "INVALID_INPUT",
              `Prune stopped before deleting anything: ${error.message} Run check on the repository.`,
              { details: error.details ?? {}, cause: error },
            );
          }
        }
        for (const kind of ["data", "tree"] as const) {
          const locations = await writer.addBlobs(blobs[kind], kind);
          for (const [i, { id }] of blobs[kind].entries()) moved.add(id, locations[i]!);
        }
        progress(n + 1);
      }
    } catch (error) {
      writer.abort(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    await writer.flush();
    moved.compact();
    return { packsWritten, bytesWritten, moved };
  }

  /** Deletes `keys`, a few at a time, each after checking the lock is still held. */
  private async deleteAll(keys: readonly string[], onDeleted: () => void): Promise<void> {
    const { storage } = this.repo;
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < keys.length) {
        const key = keys[next++]!;
        try {
          this.lock.assertHeld();
          await storage.delete(key);
        } catch (error) {
          failed = true;
          throw error;
        }
        onDeleted();
      }
    };
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(DELETES_AT_ONCE, keys.length) }, worker),
    );
    const failure = results.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
  }
}

/** Every pack on the storage, with its stored bytes. Objects under `data/` not named like a pack are left alone. */
async function listPacks(repo: Repository): Promise<Map<string, number>> {
  const folder = `${repo.prefix}data/`;
  const packs = new Map<string, number>();
  for await (const info of repo.storage.list(folder)) {
    const match = PACK_KEY.exec(info.key.slice(folder.length));
    if (match && match[2]!.startsWith(match[1]!)) packs.set(match[2]!, info.size);
  }
  return packs;
}

function setBit(bits: Uint8Array, n: number): void {
  bits[n >>> 3]! |= 1 << (n & 7);
}

function hasBit(bits: Uint8Array, n: number): boolean {
  return (bits[n >>> 3]! & (1 << (n & 7))) !== 0;
}
