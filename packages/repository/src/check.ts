import { randomInt } from "node:crypto";
import { isStrongboxError, StrongboxError, throwIfAborted } from "@strongbox/core/parts";
import { ChunkIndex, type ChunkLocation, ID_BYTES } from "./chunk-index.js";
import { decodeIndexObject } from "./index-object.js";
import { indexFolder, listIndexObjects } from "./index-store.js";
import { decodePackHeader, openBlob, packKey } from "./packs.js";
import type { Repository } from "./repository.js";
import { listSnapshotIds, readSnapshot, readTree, type Snapshot } from "./snapshots.js";
import { readObject } from "./stored-object.js";

/** Options of {@link checkRepository}. */
export interface CheckOptions {
  /**
   * Read and verify chunk data: `"none"` (structure only, the default: only the snapshots' trees are read
   * from the packs), `"all"` (every indexed pack, each read whole once), or a fraction `0 < f <= 1`: that
   * share of the indexed packs (rounded up), chosen at random, so checks run often cover the repository
   * over time.
   */
  readData?: "none" | "all" | number;
  signal?: AbortSignal;
  /** Called before the first pack is read and after each one, when data is read. */
  onProgress?: (progress: { packs: number; packsTotal: number }) => void;
}

/** One thing wrong with the repository. */
export interface CheckProblem {
  /**
   * - `missing-pack`: an index lists chunks in a pack that is not stored (`object`: the pack's id).
   * - `damaged-pack`: an index places chunks past a pack's end, or its header cannot be read (the pack).
   * - `damaged-index`: an index object cannot be read; its chunks are left out (the index object's id).
   * - `damaged-snapshot`: a snapshot object cannot be read, its tree cannot be read or decoded, or a file's
   *   chunks do not add up to its size (the snapshot's id).
   * - `unindexed-chunk`: a snapshot uses a chunk no index lists (the chunk's id).
   * - `damaged-chunk`: a chunk's stored bytes fail authentication, do not inflate, or do not hash to its id
   *   (the chunk's id).
   * - `index-mismatch`: a pack's header and the index disagree on its chunks (the pack).
   */
  kind:
    | "missing-pack"
    | "damaged-pack"
    | "damaged-index"
    | "damaged-snapshot"
    | "unindexed-chunk"
    | "damaged-chunk"
    | "index-mismatch";
  /**
   * The id of the object concerned: a pack, index object, snapshot or chunk (hex); `""` for the one problem
   * that sums up uses of unindexed chunks past the first 1,000 listed.
   */
  object: string;
  message: string;
}

/** A snapshot that cannot be restored whole. */
export interface DamagedSnapshot {
  id: string;
  server: string;
  time: string;
  /** Paths of files whose chunks are missing or damaged (`""` for the tree itself when the tree is unreadable). */
  files: string[];
}

/** What {@link checkRepository} found. */
export interface CheckReport {
  /** No problems (unindexed packs are not one). */
  ok: boolean;
  problems: CheckProblem[];
  /** Snapshots a restore would fail on, oldest first. A snapshot object that cannot be read is a problem only. */
  damagedSnapshots: DamagedSnapshot[];
  /** Packs no index lists: left by an interrupted backup or prune; harmless, prune removes them. */
  unindexedPacks: string[];
  /** Pack objects stored. */
  packs: number;
  /** Snapshot objects stored (readable or not). */
  snapshots: number;
  /** Distinct chunks in the index. */
  chunks: number;
  /** Packs read whole to verify their data. */
  packsRead: number;
}

/** Problems listed one chunk at a time for chunks no index lists; more are summed up in one. */
const MAX_UNINDEXED_LISTED = 1000;

/**
 * Checks a repository without changing it.
 *
 * Structure (always): every index object is loaded on its own (a damaged one is a `damaged-index` problem,
 * and the others still count); every pack an index names must be stored (`missing-pack`) and hold the
 * chunks where the index places them (`damaged-pack`); every snapshot must be readable, its tree readable,
 * and every chunk of every file indexed (`unindexed-chunk`). Packs stored that no index lists are reported
 * in `unindexedPacks` without making the check fail: an interrupted backup leaves them, and a crash must
 * leave a repository that checks.
 *
 * Data (`readData`): each chosen pack is read whole, once; its header is compared with the index
 * (`index-mismatch`) and every chunk the index places in it is opened, inflated and hashed
 * (`damaged-chunk`). The damaged chunks' ids are collected first, then each snapshot's tree is walked once
 * to name the snapshots and files that use a missing or damaged chunk.
 *
 * Memory: the chunk index, the pack sizes, one pack at a time, and what is damaged.
 *
 * @throws StrongboxError `INVALID_INPUT` for a bad `readData`; `ABORTED` when the signal fires; storage
 *   errors that are not damage (an unreachable storage) as they come.
 */
export async function checkRepository(repo: Repository, options: CheckOptions = {}): Promise<CheckReport> {
  const readData = options.readData ?? "none";
  if (
    readData !== "none" &&
    readData !== "all" &&
    !(typeof readData === "number" && readData > 0 && readData <= 1)
  ) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `readData is "none", "all" or a fraction of the packs above 0 and at most 1 (got ${String(readData)}).`,
      { details: { readData } },
    );
  }
  const check = new Check(repo, options.signal);
  await check.listPacks();
  await check.loadIndex();
  const chosen = choosePacks(check.indexedStoredPacks(), readData);
  if (chosen.length > 0) {
    const entriesOf = check.index.byPack();
    options.onProgress?.({ packs: 0, packsTotal: chosen.length });
    for (const [n, pack] of chosen.entries()) {
      throwIfAborted(options.signal);
      await check.checkPackData(pack, entriesOf(pack));
      options.onProgress?.({ packs: n + 1, packsTotal: chosen.length });
    }
  }
  await check.checkSnapshots();
  return check.report(chosen.length);
}

/** Which indexed packs to read: none, all, or a random share (rounded up). */
function choosePacks(packs: string[], readData: "none" | "all" | number): string[] {
  if (readData === "none") return [];
  if (readData === "all") return packs;
  const count = Math.min(packs.length, Math.ceil(readData * packs.length));
  const pool = [...packs];
  for (let n = 0; n < count; n++) {
    const pick = n + randomInt(pool.length - n);
    [pool[n], pool[pick]] = [pool[pick]!, pool[n]!];
  }
  return pool.slice(0, count).sort();
}

/** Per pack: how many index entries are wrong about it, and in which index objects. */
interface PackTrouble {
  chunks: number;
  objects: Set<string>;
}

/** One check's state. */
class Check {
  readonly problems: CheckProblem[] = [];
  readonly index = new ChunkIndex();
  private readonly packSizes = new Map<string, number>();
  /** Packs some index object names (a pack whose chunks are all indexed elsewhere too is not in `index`). */
  private readonly indexedPacks = new Set<string>();
  /** Packs an index names that are not stored: every chunk placed there is lost. */
  private readonly missingPacks = new Set<string>();
  /** Chunks (hex) whose stored bytes are damaged or lie past their pack's end. */
  private readonly badChunks = new Set<string>();
  private readonly unindexedListed = new Set<string>();
  private unindexedUnlisted = 0;
  private readonly damagedSnapshots: DamagedSnapshot[] = [];
  private snapshots = 0;

  constructor(
    private readonly repo: Repository,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private problem(kind: CheckProblem["kind"], object: string, message: string): void {
    this.problems.push({ kind, object, message });
  }

  /** Every pack object stored, with its size. Other objects under `data/` are not packs and are left out. */
  async listPacks(): Promise<void> {
    const folder = `${this.repo.prefix}data/`;
    for await (const info of this.repo.storage.list(folder)) {
      const id = info.key.slice(folder.length + 3);
      if (id !== "" && info.key === packKey(this.repo.prefix, id)) this.packSizes.set(id, info.size);
    }
    throwIfAborted(this.signal);
  }

  /**
   * Loads the index objects one by one, each into its own index first (so a damaged one adds nothing),
   * checking every entry against the packs stored.
   */
  async loadIndex(): Promise<void> {
    const missing = new Map<string, PackTrouble>();
    const short = new Map<string, PackTrouble>();
    const note = (troubles: Map<string, PackTrouble>, pack: string, object: string) => {
      const trouble = troubles.get(pack) ?? { chunks: 0, objects: new Set<string>() };
      troubles.set(pack, trouble);
      trouble.chunks++;
      trouble.objects.add(object);
    };
    for (const object of await listIndexObjects(this.repo)) {
      throwIfAborted(this.signal);
      const own = new ChunkIndex();
      try {
        const bytes = await readObject(this.repo, `${indexFolder(this.repo)}${object}`, `index ${object}`);
        if (!bytes) continue; // Removed since the listing (a prune replaced it).
        decodeIndexObject(bytes, own, object);
      } catch (error) {
        if (!isStrongboxError(error, "INVALID_INPUT")) throw error;
        this.problem(
          "damaged-index",
          object,
          `Index object ${object} cannot be read (${error.message}); the chunks only it lists count as unindexed.`,
        );
        continue;
      }
      for (const [id, location] of own.entries()) {
        this.indexedPacks.add(location.pack);
        const added = this.index.add(id, location);
        const size = this.packSizes.get(location.pack);
        if (size === undefined) {
          note(missing, location.pack, object);
          this.missingPacks.add(location.pack);
        } else if (location.offset + location.length > size - 4) {
          note(short, location.pack, object);
          if (added) this.badChunks.add(Buffer.from(id).toString("hex"));
        }
      }
    }
    this.index.compact();
    for (const [pack, { chunks, objects }] of [...missing].sort(byKey)) {
      this.problem(
        "missing-pack",
        pack,
        `Pack ${pack} is missing: index object(s) ${[...objects].join(", ")} list ${chunks} chunk(s) in it.`,
      );
    }
    for (const [pack, { chunks, objects }] of [...short].sort(byKey)) {
      this.problem(
        "damaged-pack",
        pack,
        `Pack ${pack} holds ${this.packSizes.get(pack)} bytes, too few for ${chunks} chunk(s) index object(s) ${[...objects].join(", ")} place in it: it was cut short.`,
      );
    }
  }

  /** The stored packs some index names, sorted. */
  indexedStoredPacks(): string[] {
    return [...this.packSizes.keys()].filter((pack) => this.indexedPacks.has(pack)).sort();
  }

  /**
   * Reads one pack whole (one get), compares its header with the index, and opens every chunk the index
   * places in it.
   */
  async checkPackData(pack: string, entries: [Uint8Array, ChunkLocation][]): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readWhole(this.repo, pack, this.packSizes.get(pack) ?? 0, this.signal);
    } catch (error) {
      if (!isStrongboxError(error, "NOT_FOUND")) throw error;
      this.problem("missing-pack", pack, `Pack ${pack} was removed while the check ran.`);
      this.missingPacks.add(pack);
      return;
    }
    let header: ChunkIndex | undefined;
    try {
      header = decodePackHeader(this.repo, pack, bytes);
    } catch (error) {
      if (!isStrongboxError(error, "INVALID_INPUT")) throw error;
      this.problem("damaged-pack", pack, `${error.message} Its chunks were checked against the index alone.`);
    }
    const disagreements: string[] = [];
    for (const [id, location] of entries) {
      throwIfAborted(this.signal);
      const hex = Buffer.from(id).toString("hex");
      if (this.badChunks.has(hex)) continue; // Past the pack's end: reported already.
      try {
        await openBlob(
          this.repo,
          id,
          location,
          bytes.subarray(location.offset, location.offset + location.length),
        );
      } catch (error) {
        if (!isStrongboxError(error, "INVALID_INPUT")) throw error;
        this.badChunks.add(hex);
        this.problem("damaged-chunk", hex, error.message);
      }
      const listed = header?.get(id);
      if (header && !sameLocation(listed, location)) {
        disagreements.push(
          listed
            ? `chunk ${hex} is at ${describe(location)} by the index, ${describe(listed)} by the header`
            : `the header does not list chunk ${hex}`,
        );
      }
    }
    let unlisted = 0;
    for (const [id] of header?.entries() ?? []) if (!this.index.has(id)) unlisted++;
    if (unlisted > 0) disagreements.push(`the header lists ${unlisted} chunk(s) no index lists`);
    if (disagreements.length > 0) {
      const shown = disagreements.slice(0, 3).join("; ");
      const more = disagreements.length > 3 ? ` (and ${disagreements.length - 3} more)` : "";
      this.problem("index-mismatch", pack, `Pack ${pack}'s header and the index disagree: ${shown}${more}.`);
    }
  }

  /** Reads every snapshot and walks its tree once, naming the files whose chunks are lost or damaged. */
  async checkSnapshots(): Promise<void> {
    for (const id of await listSnapshotIds(this.repo)) {
      throwIfAborted(this.signal);
      let snapshot: Snapshot;
      try {
        snapshot = await readSnapshot(this.repo, id);
      } catch (error) {
        if (isStrongboxError(error, "NOT_FOUND")) continue; // Forgotten since the listing.
        if (!isStrongboxError(error, "INVALID_INPUT")) throw error;
        this.snapshots++;
        this.problem("damaged-snapshot", id, error.message);
        continue;
      }
      this.snapshots++;
      const files = await this.checkTree(snapshot);
      if (files.length > 0) {
        this.damagedSnapshots.push({ id, server: snapshot.server, time: snapshot.time, files });
      }
    }
    this.damagedSnapshots.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  /** The files of a snapshot that cannot be restored (`""` first when its tree cannot be read). */
  private async checkTree(snapshot: Snapshot): Promise<string[]> {
    let treeUsable = true;
    for (const hex of snapshot.tree) {
      if (!this.usable(Buffer.from(hex, "hex"), snapshot, "")) treeUsable = false;
    }
    if (!treeUsable) return [""];
    const files: string[] = [];
    try {
      for await (const entry of readTree(this.repo, this.index, snapshot, this.signal)) {
        if (entry.type !== "file") continue;
        let bytes = 0;
        let damaged = false;
        for (let at = 0; at < entry.chunks.length; at += ID_BYTES) {
          const location = this.usable(entry.chunks.subarray(at, at + ID_BYTES), snapshot, entry.path);
          if (location) bytes += location.rawLength;
          else damaged = true;
        }
        if (!damaged && bytes !== entry.size) {
          damaged = true;
          this.problem(
            "damaged-snapshot",
            snapshot.id,
            `"${entry.path}" in snapshot ${snapshot.id} has ${bytes} bytes of chunks where its size says ${entry.size}.`,
          );
        }
        if (damaged) files.push(entry.path);
      }
    } catch (error) {
      if (!isStrongboxError(error, "INVALID_INPUT") && !isStrongboxError(error, "NOT_FOUND")) throw error;
      this.problem(
        "damaged-snapshot",
        snapshot.id,
        `The tree of snapshot ${snapshot.id} cannot be read: ${error.message}`,
      );
      files.unshift("");
    }
    return files;
  }

  /**
   * A chunk's location when a restore could read it: indexed (else an `unindexed-chunk` problem, naming
   * the first snapshot and path met using it), its pack stored, its bytes not known to be damaged.
   */
  private usable(id: Uint8Array, snapshot: Snapshot, path: string): ChunkLocation | undefined {
    const location = this.index.get(id);
    if (!location) {
      const hex = Buffer.from(id).toString("hex");
      if (this.unindexedListed.has(hex)) return undefined;
      if (this.unindexedListed.size < MAX_UNINDEXED_LISTED) {
        this.unindexedListed.add(hex);
        const user = path === "" ? "the tree" : `"${path}"`;
        this.problem(
          "unindexed-chunk",
          hex,
          `Chunk ${hex} of ${user} in snapshot ${snapshot.id} is in no index: its data is lost or its index object damaged.`,
        );
      } else {
        this.unindexedUnlisted++;
      }
      return undefined;
    }
    if (this.missingPacks.has(location.pack)) return undefined;
    if (this.badChunks.size > 0 && this.badChunks.has(Buffer.from(id).toString("hex"))) return undefined;
    return location;
  }

  report(packsRead: number): CheckReport {
    if (this.unindexedUnlisted > 0) {
      this.problem(
        "unindexed-chunk",
        "",
        `Snapshots use chunks no index lists ${this.unindexedUnlisted} more time(s), not listed one by one (the first ${MAX_UNINDEXED_LISTED} are).`,
      );
    }
    const unindexedPacks = [...this.packSizes.keys()].filter((pack) => !this.indexedPacks.has(pack)).sort();
    return {
      ok: this.problems.length === 0,
      problems: this.problems,
      damagedSnapshots: this.damagedSnapshots,
      unindexedPacks,
      packs: this.packSizes.size,
      snapshots: this.snapshots,
      chunks: this.index.size,
      packsRead,
    };
  }
}

/** A whole pack in one get, into one buffer of its listed size (packs are at most 16 MiB by default). */
async function readWhole(
  repo: Repository,
  pack: string,
  size: number,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  const stream = await repo.storage.get(packKey(repo.prefix, pack), signal ? { signal } : {});
  let out = Buffer.allocUnsafe(size);
  let at = 0;
  for await (const part of stream) {
    const bytes = part as Uint8Array;
    if (at + bytes.length <= out.length) out.set(bytes, at);
    else out = Buffer.concat([out.subarray(0, at), bytes]); // Longer than listed: packs never change, but be safe.
    at += bytes.length;
  }
  return out.subarray(0, at);
}

function sameLocation(a: ChunkLocation | undefined, b: ChunkLocation): boolean {
  return (
    a !== undefined &&
    a.pack === b.pack &&
    a.offset === b.offset &&
    a.length === b.length &&
    a.rawLength === b.rawLength
  );
}

function describe(location: ChunkLocation): string {
  return `offset ${location.offset}, ${location.length} bytes (${location.rawLength} raw)`;
}

function byKey<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
