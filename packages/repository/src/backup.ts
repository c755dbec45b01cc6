import { type BigIntStats, lstatSync, readlinkSync } from "node:fs";
import {
  type ArchiveWarning,
  type ArchiveWarningCode,
  createIgnoreMatcher,
  createTreeWalk,
  decodePath,
  encodePath,
  fsPath,
  resolvePackInput,
  throwIfAborted,
} from "@strongbox/core/parts";
import { type BlobEncoder, createBlobEncoder, type SealedBlob } from "./blob-encoder.js";
import { type ChunkIndex, ID_BYTES } from "./chunk-index.js";
import { createChunkStream } from "./chunk-stream.js";
import { ChunkWorkers, type FileChunks, type FileEnd } from "./chunk-workers.js";
import { loadIndex, writeIndexObject } from "./index-store.js";
import { lockRepository, type RepositoryLock } from "./locks.js";
import { createPackWriter, type PackKind, type PackWriter } from "./packs.js";
import { chunkingSecrets, type Repository } from "./repository.js";
import {
  latestSnapshot,
  newSnapshotId,
  readTreeRecords,
  type Snapshot,
  type SnapshotCounts,
  writeSnapshot,
} from "./snapshots.js";
import { compareRecordPath, matchFileRecord, recordChunks, type TreeEntry, TreeWriter } from "./tree.js";

/** Options of {@link backup}. */
export interface BackupOptions {
  /** The folder to back up. */
  source: string;
  /** What the snapshot is a backup of (a server id): the previous snapshot of the same name is the parent. */
  server: string;
  /** Ignore rules (`.gitignore` syntax), applied after the ignore file's. */
  ignore?: string | readonly string[];
  /** The ignore file read from the source's root (default `.pteroignore`; false for none). */
  ignoreFile?: string | false;
  /** Read every file, even one whose size, mtime, ctime and inode match the parent snapshot's. */
  rereadAll?: boolean;
  /** Packs are uploaded once they reach this many bytes (default 16 MiB). */
  maxPackBytes?: number;
  /** Threads reading and chunking files (default: the cores, at most 4), started only when files need reading. */
  threads?: number;
  /** How long to wait for a prune's exclusive lock to go (default 0: fail at once with `SERVER_STATE_CONFLICT`). */
  lockWaitMs?: number;
  signal?: AbortSignal;
  /** Called as the backup goes, at most every 250 ms, and once at the end. */
  onProgress?: (counts: SnapshotCounts) => void;
  onWarning?: (warning: ArchiveWarning) => void;
}

/**
 * Files given to the chunk workers ahead of the one the tree records now, at most (and bytes of them):
 * enough that every thread has work while the main thread waits on one file. Memory is bounded by the
 * workers' credits, not by this.
 */
const LOOKAHEAD_FILES = 256;
const LOOKAHEAD_BYTES = 64 * 1024 * 1024;
/** Walk entries handled between two looks at the event loop. */
const WALK_STEP = 512;
/** An index object is written once this many chunks of uploaded packs wait for one. */
const INDEX_ENTRIES = 64 * 1024;

type WalkItem =
  | { kind: "directory" | "file" | "symlink"; absolute: string; relative: string }
  | { kind: "warning"; code: ArchiveWarningCode; relative: string; message: string };

/**
 * Backs up a folder into the repository as a new snapshot, storing only chunks the repository does not
 * hold yet. A file whose size, mtime, ctime and inode match the server's previous snapshot reuses that
 * snapshot's chunk list without being read (restic's rule), unless `rereadAll`. Packs are uploaded, then
 * the index objects naming them, then the snapshot: a backup that fails or is killed leaves only data
 * no snapshot references, which prune removes. Symlinks are stored, never followed; fifos, sockets and
 * devices are skipped with a warning, as `pack` does.
 *
 * @throws StrongboxError `NOT_FOUND` when the source does not exist; `INVALID_INPUT` for bad options;
 *   `SERVER_STATE_CONFLICT` while a prune (or forget) holds the repository's exclusive lock; `ABORTED` when
 *   the signal fires.
 */
export async function backup(repo: Repository, options: BackupOptions): Promise<Snapshot> {
  const started = new Date();
  const input = await resolvePackInput(
    options.source,
    { ignore: options.ignore ?? [], ignoreFile: options.ignoreFile ?? ".pteroignore" },
    [],
  );
  const { signal } = options;
  const lock = await lockRepository(repo, {
    kind: "shared",
    purpose: `backup of ${options.server}`,
    waitMs: options.lockWaitMs ?? 0,
    ...(signal ? { signal } : {}),
  });
  try {
    return await backupLocked(repo, options, input, lock, started);
  } finally {
    await lock.release();
  }
}

async function backupLocked(
  repo: Repository,
  options: BackupOptions,
  input: Awaited<ReturnType<typeof resolvePackInput>>,
  lock: RepositoryLock,
  started: Date,
): Promise<Snapshot> {
  const { signal } = options;
  // Loaded under the lock: no prune runs while it is held, so every chunk it names stays. The index and
  // the server's snapshots are read at once: on S3 that is one round of requests less for every backup.
  const [{ index }, parent] = await Promise.all([
    loadIndex(repo),
    options.rereadAll ? undefined : latestSnapshot(repo, options.server),
  ]);
  const run = new BackupRun(repo, index, options, lock);
  const previous = parent ? new TreeCursor(readTreeRecords(repo, index, parent, signal)) : undefined;

  const queue: WalkItem[] = [];
  const warn = (code: ArchiveWarningCode, relative: string, message: string) =>
    queue.push({ kind: "warning", code, relative, message });
  const walk = createTreeWalk(
    input.root,
    {
      ignore: createIgnoreMatcher(input.ignoreRules),
      exclude: new Set(),
      checkCancelled: () => throwIfAborted(signal),
    },
    {
      directory(absolute, relative) {
        queue.push({ kind: "directory", absolute, relative });
        return true;
      },
      file: (absolute, relative) => queue.push({ kind: "file", absolute, relative }),
      symlink: (absolute, relative) => queue.push({ kind: "symlink", absolute, relative }),
      special: (relative, kind) =>
        warn("SPECIAL_FILE_SKIPPED", relative, `Skipped "${relative}": it is ${kind}.`),
      problem: warn,
    },
  );
  let tree: string[];
  try {
    let more = true;
    while (more) {
      more = walk.step(WALK_STEP);
      for (const item of queue.splice(0)) {
        throwIfAborted(signal);
        if (item.kind === "warning") run.warn(item.code, item.relative, item.message);
        else {
          const adding = run.add(item.kind, item.absolute, item.relative, previous);
          if (adding) await adding;
        }
      }
    }
    tree = await run.finish();
  } catch (error) {
    run.abort(error);
    throw error;
  } finally {
    await run.close();
  }
  const snapshot: Snapshot = {
    id: newSnapshotId(repo, options.server, started),
    server: options.server,
    time: started.toISOString(),
    ...(parent ? { parent: parent.id } : {}),
    source: input.root,
    ignoreRules: input.ignoreRules,
    tree,
    counts: run.counts,
  };
  throwIfAborted(signal);
  // A lock lost (judged stale by a prune) means the chunks reused may be gone: no snapshot names them.
  lock.assertHeld();
  await writeSnapshot(repo, snapshot);
  options.onProgress?.({ ...run.counts });
  return snapshot;
}

/** The parent snapshot's records, read in step with the walk, a tree chunk's worth at a time, never decoded. */
class TreeCursor {
  private batch: Buffer[] = [];
  private at = 0;
  private done = false;

  constructor(private readonly batches: AsyncGenerator<Buffer[]>) {}

  /**
   * The parent's record of `path` (walk order only moves forward), if it has one: at once while the
   * records read hold the answer, through a promise when the next tree chunk must be read first.
   */
  seek(path: Buffer): Buffer | undefined | Promise<Buffer | undefined> {
    for (;;) {
      const record = this.batch[this.at];
      if (record === undefined) {
        if (this.done) return undefined;
        return this.batches.next().then((next) => {
          if (next.done) this.done = true;
          else this.batch = next.value;
          this.at = 0;
          return this.seek(path);
        });
      }
      const order = compareRecordPath(record, path);
      if (order === 0) return record;
      if (order > 0) return undefined;
      this.at++;
    }
  }
}

/** A walk entry waiting for its turn in the tree: a file being read by a chunk worker, or one ready. */
interface Pending {
  entry: TreeEntry;
  relative: string;
  read?: FileChunks;
  /** The parent's record of an unchanged file, the same in every field: written again as it is. */
  record?: Buffer;
}

/**
 * One backup's state: its chunk workers and pack writer, its tree being chunked, its counts. Entries join
 * the tree in walk order; a file to read goes to the chunk workers as soon as the walk meets it and joins
 * the tree once its chunks are packed, while the walk goes on to give the workers the files after it.
 */
class BackupRun {
  readonly counts: SnapshotCounts = {
    files: 0,
    directories: 0,
    symlinks: 0,
    bytes: 0,
    skipped: 0,
    unchangedFiles: 0,
    newChunks: 0,
    newBytes: 0,
  };
  private readonly writer: PackWriter;
  private readonly workers: ChunkWorkers;
  /** Encodes the tree's own chunks (few) on this thread. */
  private readonly encoder: BlobEncoder;
  private readonly tree: TreeWriter;
  private readonly treeIds: string[] = [];
  private readonly pending: Pending[] = [];
  private readsPending = 0;
  private bytesPending = 0;
  private lastProgress = 0;

  constructor(
    private readonly repo: Repository,
    private readonly index: ChunkIndex,
    private readonly options: BackupOptions,
    private readonly lock: RepositoryLock,
  ) {
    this.writer = createPackWriter(
      repo,
      options.maxPackBytes === undefined ? {} : { maxPackBytes: options.maxPackBytes },
    );
    this.workers = new ChunkWorkers(repo, {
      known: index,
      ...(options.threads === undefined ? {} : { threads: options.threads }),
    });
    this.encoder = createBlobEncoder(chunkingSecrets(repo).keys, 1);
    this.tree = new TreeWriter(createChunkStream(repo.createChunker()));
  }

  warn(code: ArchiveWarningCode, path: string, message: string): void {
    this.counts.skipped++;
    this.options.onWarning?.({ code, path, message });
  }

  /**
   * Adds one walk entry to the snapshot; a promise only when it has to wait (for the parent's next tree
   * chunk, or for the oldest file being read once enough are ahead of it): an unchanged tree of small files
   * goes by without an `await` per entry.
   */
  add(
    kind: "directory" | "file" | "symlink",
    absolute: string,
    relative: string,
    previous: TreeCursor | undefined,
  ): Promise<void> | undefined {
    let stat: BigIntStats;
    try {
      stat = lstatSync(fsPath(absolute), { bigint: true });
    } catch {
      this.warn("FILE_VANISHED", relative, `"${relative}" vanished before it could be backed up.`);
      return undefined;
    }
    const entry = entryOf(relative, stat);
    if (kind === "directory" && stat.isDirectory()) {
      entry.type = "directory";
      entry.size = 0;
      return this.enqueue({ entry, relative });
    }
    if (kind === "symlink" && stat.isSymbolicLink()) {
      try {
        entry.linkTarget = decodePath(readlinkSync(fsPath(absolute), { encoding: "buffer" }));
      } catch {
        this.warn("FILE_VANISHED", relative, `"${relative}" vanished before it could be backed up.`);
        return undefined;
      }
      entry.type = "symlink";
      entry.size = 0;
      return this.enqueue({ entry, relative });
    }
    if (kind === "file" && stat.isFile()) {
      const before = previous?.seek(encodePath(relative));
      return before instanceof Promise
        ? before.then((found) => this.addFile(absolute, relative, entry, found))
        : this.addFile(absolute, relative, entry, before);
    }
    this.warn("FILE_CHANGED", relative, `Skipped "${relative}": it changed type while it was backed up.`);
    return undefined;
  }

  private addFile(
    absolute: string,
    relative: string,
    entry: TreeEntry,
    before: Buffer | undefined,
  ): Promise<void> | undefined {
    const match = before ? matchFileRecord(before, entry) : "changed";
    const chunks = match === "changed" ? undefined : recordChunks(before!);
    if (chunks && this.indexed(chunks)) {
      this.counts.unchangedFiles++;
      if (match === "same") return this.enqueue({ entry, relative, record: before! });
      entry.chunks = chunks;
      return this.enqueue({ entry, relative });
    }
    this.readsPending++;
    this.bytesPending += entry.size;
    return this.enqueue({ entry, relative, read: this.workers.read(fsPath(absolute), entry.size) });
  }

  private enqueue(item: Pending): Promise<void> | undefined {
    this.pending.push(item);
    return this.drain(false);
  }

  /**
   * Records the pending entries from the oldest on: those ready at once, then, while too many files are
   * being read ahead (or, with `all`, until none is left), the oldest file once its chunks are packed.
   */
  private drain(all: boolean): Promise<void> | undefined {
    for (;;) {
      const head = this.pending[0];
      if (head === undefined) return undefined;
      if (head.read) {
        const ahead = this.readsPending > LOOKAHEAD_FILES || this.bytesPending > LOOKAHEAD_BYTES;
        return all || ahead ? this.drainRead(all) : undefined;
      }
      this.pending.shift();
      const storing = this.record(head.entry, head.record);
      if (storing) return storing.then(() => this.drain(all));
    }
  }

  private async drainRead(all: boolean): Promise<void> {
    const { entry, relative, read } = this.pending.shift()!;
    this.readsPending--;
    this.bytesPending -= entry.size;
    if (await this.packFile(entry, relative, read!)) await this.record(entry);
    await this.drain(all);
  }

  /**
   * Puts an entry in the tree (as the parent's `record` when it is the same); a promise when that completed
   * tree chunks to store.
   */
  private record(entry: TreeEntry, record?: Buffer): Promise<void> | undefined {
    if (entry.type === "directory") this.counts.directories++;
    else if (entry.type === "symlink") this.counts.symlinks++;
    else {
      this.counts.files++;
      this.counts.bytes += entry.size;
    }
    const chunks = record ? this.tree.addRecord(record) : this.tree.add(entry);
    this.progress();
    return chunks.length > 0 ? this.storeTree(chunks) : undefined;
  }

  /** Stores every pending entry, the last tree chunk and the last pack, then the index naming them; returns the tree's ids. */
  async finish(): Promise<string[]> {
    await this.drain(true);
    await this.storeTree(this.tree.end());
    throwIfAborted(this.options.signal);
    for (const entry of await this.writer.flush()) this.uploaded.push(entry);
    if (this.uploaded.length > 0) await this.writeIndex();
    this.uploaded = [];
    return this.treeIds;
  }

  /** Gives up the packs being uploaded: the storage keeps nothing of them. */
  abort(error: unknown): void {
    this.writer.abort(error instanceof Error ? error : new Error(String(error)));
  }

  /** Stops the chunk workers. */
  close(): Promise<void> {
    return this.workers.close();
  }

  /**
   * Whether the index holds every one of a file's chunks: with restic's rule (same size, mtime, ctime and
   * inode, see {@link matchFileRecord}), what lets a file's chunks be reused without reading it.
   */
  private indexed(chunks: Uint8Array): boolean {
    for (let at = 0; at < chunks.length; at += ID_BYTES) {
      if (!this.index.has(chunks.subarray(at, at + ID_BYTES))) return false;
    }
    return true;
  }

  /**
   * Takes a file's chunks from its worker in order, packs the ones the repository lacks, and fills in the
   * entry's chunk list and size; false when the file was skipped (with a warning).
   */
  private async packFile(entry: TreeEntry, relative: string, read: FileChunks): Promise<boolean> {
    const ids: Uint8Array[] = [];
    for (;;) {
      throwIfAborted(this.options.signal);
      const next = await read.next();
      if ("end" in next) {
        if (!("size" in next.end)) {
          this.warnUnread(relative, next.end);
          return false;
        }
        entry.size = next.end.size;
        entry.chunks = Buffer.concat(ids);
        return true;
      }
      const { piece } = next;
      const fresh: SealedBlob[] = [];
      const freshIds = new Set<string>();
      for (let n = 0; n < piece.count; n++) {
        const id = piece.id(n);
        ids.push(id);
        if (this.index.has(id)) continue;
        const hex = Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex");
        if (freshIds.has(hex)) continue;
        freshIds.add(hex);
        const blob = piece.blob(n);
        // Sent without bytes only when the index held it, and the index never drops a chunk meanwhile.
        if (blob.length === 0)
          throw new Error(`A chunk worker sent chunk ${hex} without its bytes, as held.`);
        fresh.push({ id, blob, rawLength: piece.rawLength(n) });
      }
      await this.pack(fresh);
      piece.release();
    }
  }

  private warnUnread(relative: string, end: Exclude<FileEnd, { size: number }>): void {
    if (end.problem === "not-a-file") {
      this.warn("FILE_CHANGED", relative, `Skipped "${relative}": it stopped being a regular file.`);
    } else if (end.problem === "read") {
      this.warn("UNREADABLE", relative, `Reading "${relative}" failed (${end.code}); it was skipped.`);
    } else if (end.code === "ENOENT" || end.code === "ENOTDIR") {
      this.warn("FILE_VANISHED", relative, `"${relative}" vanished before it could be backed up.`);
    } else if (end.code === "ELOOP") {
      this.warn("FILE_CHANGED", relative, `Skipped "${relative}": it was replaced by a symlink.`);
    } else {
      this.warn("UNREADABLE", relative, `Could not open "${relative}" (${end.code}); it was skipped.`);
    }
  }

  /** Adds new chunks to the packs and the index (the index as soon as their place is known). */
  private async pack(blobs: SealedBlob[], kind: PackKind = "data"): Promise<void> {
    if (blobs.length === 0) return;
    const locations = await this.writer.addBlobs(blobs, kind);
    for (const [n, { id, rawLength }] of blobs.entries()) {
      this.index.add(id, locations[n]!);
      this.counts.newChunks++;
      this.counts.newBytes += rawLength;
    }
    await this.writeUploadedIndex();
  }

  private async storeTree(chunks: Buffer[]): Promise<void> {
    for (const chunk of chunks) {
      const id = this.encoder.id(chunk);
      this.treeIds.push(id.toString("hex"));
      if (this.index.has(id)) continue;
      await this.pack([{ id, blob: this.encoder.encode(id, chunk), rawLength: chunk.length }], "tree");
    }
  }

  /** A long backup indexes its uploaded packs as it goes, so memory holds no more than one batch of them. */
  private uploaded: ReturnType<PackWriter["takeUploaded"]> = [];
  private async writeUploadedIndex(): Promise<void> {
    for (const entry of this.writer.takeUploaded()) this.uploaded.push(entry);
    if (this.uploaded.length < INDEX_ENTRIES) return;
    await this.writeIndex();
    this.uploaded = [];
  }

  /**
   * Writes an index object for the packs uploaded, after re-reading the lock: a backup whose lock a prune
   * removed as stale (a process paused past the stale time) must not index packs that prune may delete.
   */
  private async writeIndex(): Promise<void> {
    throwIfAborted(this.options.signal);
    await this.lock.refresh();
    await writeIndexObject(this.repo, this.uploaded);
  }

  private progress(): void {
    const now = Date.now();
    if (now - this.lastProgress < 250) return;
    this.lastProgress = now;
    this.options.onProgress?.({ ...this.counts });
  }
}

function entryOf(relative: string, stat: BigIntStats): TreeEntry {
  return {
    path: relative,
    type: "file",
    mode: Number(stat.mode & 0o7777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    mtimeNs: stat.mtimeNs,
    ctimeNs: stat.ctimeNs,
    inode: stat.ino,
    device: stat.dev,
    size: Number(stat.size),
    chunks: new Uint8Array(0),
  };
}
