import { randomBytes } from "node:crypto";
import { StrongboxError } from "@strongbox/core/parts";
import type { ChunkIndex } from "./chunk-index.js";
import { readChunks } from "./chunk-reader.js";
import { readAhead } from "./read-ahead.js";
import { type Repository, SERVER_TAG_DIGITS, serverTag } from "./repository.js";
import { parseObject } from "./stored-json.js";
import { readObject, writeObject } from "./stored-object.js";
import { TreeDecoder, type TreeEntry } from "./tree.js";

/** What a backup counted. */
export interface SnapshotCounts {
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file content in the snapshot. */
  bytes: number;
  /** Paths left out with a warning (vanished, unreadable, special files). */
  skipped: number;
  /** Files whose chunks came from the previous snapshot without being read. */
  unchangedFiles: number;
  /** Chunks this backup stored (the rest were in the repository already), and their raw bytes. */
  newChunks: number;
  newBytes: number;
}

/** One backup in a repository. Stored sealed at `snapshots/<its server tag>/<id>` (see {@link newSnapshotId}). */
export interface Snapshot {
  /** 32 hex digits: its server's tag (8), its backup's start time (12: milliseconds since 1970), then random ones (12). */
  id: string;
  /** The server (or any name) it is a backup of: file-level skip compares with its previous snapshot. */
  server: string;
  /** ISO time the backup started. */
  time: string;
  /** The snapshot whose unchanged files it reused without reading them, if any. */
  parent?: string;
  /** The folder backed up. */
  source: string;
  /** The ignore rules applied (the ignore file's, then the caller's). */
  ignoreRules: string;
  /** The ids (hex) of the chunks of its tree: one record per path, in walk order. */
  tree: string[];
  counts: SnapshotCounts;
}

const ID_PATTERN = /^[0-9a-f]{32}$/;

/** Hex digits of a snapshot id, after its server tag, that hold its backup's start time. */
const TIME_DIGITS = 12;

/**
 * A new snapshot id for a backup of `server` that started at `started`: its tag (8 hex digits of an HMAC of
 * the name, keyed with the repository's secret when it is encrypted), the start time in milliseconds (12),
 * then 12 random digits. Snapshots are stored in a folder per tag, so a backup finds its parent by listing
 * its own server's snapshots only, not every snapshot of every server sharing the repository, and reads
 * only the newest: ids of one tag sort by start time. An encrypted repository's tags tell which snapshots
 * share a server, never its name; its ids tell when each backup started, as the stored objects' own times
 * do.
 */
export function newSnapshotId(repo: Repository, server: string, started: Date): string {
  const time = Math.max(0, started.getTime()).toString(16).padStart(TIME_DIGITS, "0");
  const random = randomBytes((32 - SERVER_TAG_DIGITS - TIME_DIGITS) / 2).toString("hex");
  return serverTag(repo, server) + time + random;
}

/** @throws StrongboxError `INVALID_INPUT` when `id` is not a snapshot id (32 hex digits). */
export function validateSnapshotId(id: string): string {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new StrongboxError("INVALID_INPUT", `"${String(id)}" is not a snapshot id (32 hex digits).`, {
      details: { id },
    });
  }
  return id;
}

function snapshotKey(repo: Repository, id: string): string {
  return `${repo.prefix}snapshots/${id.slice(0, SERVER_TAG_DIGITS)}/${id}`;
}

/** Stores a snapshot: the last write of a backup, once everything it names is stored and indexed. */
export async function writeSnapshot(repo: Repository, snapshot: Snapshot): Promise<void> {
  const bytes = Buffer.from(JSON.stringify(snapshot));
  await writeObject(repo, snapshotKey(repo, snapshot.id), `snapshot ${snapshot.id}`, bytes);
}

/**
 * A snapshot.
 * @throws StrongboxError `NOT_FOUND` when there is none with this id; `INVALID_INPUT` when it is damaged.
 */
export async function readSnapshot(repo: Repository, id: string): Promise<Snapshot> {
  validateSnapshotId(id);
  const bytes = await readObject(repo, snapshotKey(repo, id), `snapshot ${id}`);
  if (!bytes) {
    throw new StrongboxError("NOT_FOUND", `There is no snapshot ${id} in this repository.`, {
      details: { id },
    });
  }
  const value = parseObject(bytes);
  if (
    value?.id !== id ||
    typeof value.server !== "string" ||
    typeof value.time !== "string" ||
    !Array.isArray(value.tree) ||
    !value.tree.every((chunk) => typeof chunk === "string" && /^[0-9a-f]{64}$/.test(chunk))
  ) {
    throw new StrongboxError("INVALID_INPUT", `Snapshot ${id} is damaged (a field is missing or wrong).`, {
      details: { id },
    });
  }
  return value as unknown as Snapshot;
}

/**
 * The ids of every stored snapshot; with `server`, of those stored under its tag only (its snapshots, and
 * now and then another server's whose tag is the same).
 */
export async function listSnapshotIds(repo: Repository, server?: string): Promise<string[]> {
  const root = `${repo.prefix}snapshots/`;
  const ids: string[] = [];
  for await (const info of repo.storage.list(
    server === undefined ? root : `${root}${serverTag(repo, server)}/`,
  )) {
    const [tag, id, ...rest] = info.key.slice(root.length).split("/");
    if (rest.length === 0 && id !== undefined && ID_PATTERN.test(id) && id.startsWith(tag!)) ids.push(id);
  }
  return ids;
}

/**
 * Every snapshot (of one server when given), oldest first. With a server, only the snapshots stored under
 * its tag are read, whatever the number of other servers' snapshots in the repository.
 */
export async function listSnapshots(repo: Repository, filter: { server?: string } = {}): Promise<Snapshot[]> {
  const ids = await listSnapshotIds(repo, filter.server);
  const snapshots: Snapshot[] = [];
  for await (const snapshot of readAhead(ids, (id) => readListed(repo, id))) {
    if (snapshot && (filter.server === undefined || snapshot.server === filter.server))
      snapshots.push(snapshot);
  }
  return snapshots.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

/** A listed snapshot, or `undefined` when it was forgotten between the listing and the read (not an error). */
function readListed(repo: Repository, id: string): Promise<Snapshot | undefined> {
  return readSnapshot(repo, id).catch((error: unknown) => {
    if (error instanceof StrongboxError && error.code === "NOT_FOUND") return undefined;
    throw error;
  });
}

/**
 * The latest snapshot of `server` (the one whose backup started last), or `undefined` when it has none. Its
 * tag's snapshots are read newest first until one is the server's: one read, unless another server's
 * name has the same tag and backed up since.
 * @throws StrongboxError `INVALID_INPUT` when a snapshot read is damaged.
 */
export async function latestSnapshot(repo: Repository, server: string): Promise<Snapshot | undefined> {
  const ids = (await listSnapshotIds(repo, server)).sort().reverse();
  for (const id of ids) {
    const snapshot = await readListed(repo, id);
    if (snapshot?.server === server) return snapshot;
  }
  return undefined;
}

/** True when a snapshot object with this id is stored (whether or not it can be read). */
export async function snapshotExists(repo: Repository, id: string): Promise<boolean> {
  return (await repo.storage.stat(snapshotKey(repo, validateSnapshotId(id)))) !== undefined;
}

/** Removes a snapshot object (its data stays until prune). */
export async function deleteSnapshotObject(repo: Repository, id: string): Promise<void> {
  await repo.storage.delete(snapshotKey(repo, validateSnapshotId(id)));
}

/** The ids of a snapshot's tree chunks, as bytes. */
export function treeChunkIds(snapshot: Snapshot): Uint8Array[] {
  return snapshot.tree.map((hex) => Buffer.from(hex, "hex"));
}

/** A snapshot's entries, in walk order, read a few chunks at a time. */
export async function* readTree(
  repo: Repository,
  index: ChunkIndex,
  snapshot: Snapshot,
  signal?: AbortSignal,
): AsyncGenerator<TreeEntry> {
  const decoder = new TreeDecoder(`snapshot ${snapshot.id}`);
  for await (const chunk of readTreeChunks(repo, index, snapshot, signal)) yield* decoder.push(chunk);
  decoder.end();
}

/**
 * A snapshot's tree records, in walk order, undecoded (see {@link TreeDecoder.records}), as each tree chunk
 * completes them: one `await` a chunk.
 */
export async function* readTreeRecords(
  repo: Repository,
  index: ChunkIndex,
  snapshot: Snapshot,
  signal?: AbortSignal,
): AsyncGenerator<Buffer[]> {
  const decoder = new TreeDecoder(`snapshot ${snapshot.id}`);
  for await (const chunk of readTreeChunks(repo, index, snapshot, signal)) yield decoder.records(chunk);
  decoder.end();
}

function readTreeChunks(repo: Repository, index: ChunkIndex, snapshot: Snapshot, signal?: AbortSignal) {
  return readChunks(repo, index, treeChunkIds(snapshot), { signal });
}
