import { decodePath, encodePath, StrongboxError } from "@strongbox/core/parts";
import { ID_BYTES } from "./chunk-index.js";
import type { ChunkStream } from "./chunk-stream.js";

/** What a snapshot holds of one path. */
export interface TreeEntry {
  /** Relative, `/`-separated, decoded as core's `decodePath` does (bytes that are not UTF-8 survive). */
  path: string;
  type: "file" | "directory" | "symlink";
  /** Permission bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Modification and status-change times, in nanoseconds since the epoch. */
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Inode and device: with size and the two times, what tells an unchanged file without reading it. */
  inode: bigint;
  device: bigint;
  /** Bytes of a file's content (0 for others). */
  size: number;
  /** A symlink's target, verbatim. */
  linkTarget?: string;
  /** The ids of a file's chunks, in order, 32 bytes each. */
  chunks: Uint8Array;
}

const TYPES = ["file", "directory", "symlink"] as const;
/** Where each field sits in a record, after its u32 length. */
const MODE_AT = 5;
const MTIME_AT = 17;
const CTIME_AT = 25;
const INODE_AT = 33;
const SIZE_AT = 49;
const PATH_LENGTH_AT = 57;
const LINK_LENGTH_AT = 61;
const CHUNK_COUNT_AT = 65;
/** The length, then type, mode, uid, gid, mtime, ctime, inode, device, size, path length, link length, chunk count. */
const HEADER_BYTES = 69;
/** A record past this is not one this code wrote (a 64 GiB file has 4 M chunks: 128 MiB of ids). */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;

/**
 * The bytes of one tree record: its length (u32, counting what follows it), then the entry's fields,
 * little-endian. A record is stored as it is written, so a record read back is a valid record to write.
 */
export function encodeTreeEntry(entry: TreeEntry): Buffer {
  const [path, link] = encodedPaths(entry);
  return recordOf(entry, path, link);
}

/** The bytes of an entry's path and link target. */
function encodedPaths(entry: TreeEntry): [Uint8Array, Uint8Array | undefined] {
  return [encodePath(entry.path), entry.linkTarget === undefined ? undefined : encodePath(entry.linkTarget)];
}

/** An entry's record in a buffer of its own. */
function recordOf(entry: TreeEntry, path: Uint8Array, link: Uint8Array | undefined): Buffer {
  const out = Buffer.allocUnsafe(recordBytes(entry, path, link));
  writeRecord(out, new DataView(out.buffer, out.byteOffset, out.byteLength), 0, entry, path, link);
  return out;
}

function recordBytes(entry: TreeEntry, path: Uint8Array, link: Uint8Array | undefined): number {
  return HEADER_BYTES + path.length + (link?.length ?? 0) + entry.chunks.length;
}

/** Writes `entry`'s record at `at` of `out` (seen through `view`); returns where it ends. */
function writeRecord(
  out: Buffer,
  view: DataView,
  at: number,
  entry: TreeEntry,
  path: Uint8Array,
  link: Uint8Array | undefined,
): number {
  const linkLength = link?.length ?? 0;
  view.setUint32(at, recordBytes(entry, path, link) - 4, true);
  writeFields(view, at, entry);
  view.setUint32(at + PATH_LENGTH_AT, path.length, true);
  view.setUint32(at + LINK_LENGTH_AT, linkLength, true);
  view.setUint32(at + CHUNK_COUNT_AT, entry.chunks.length / ID_BYTES, true);
  let end = at + HEADER_BYTES;
  out.set(path, end);
  end += path.length;
  if (link) out.set(link, end);
  end += linkLength;
  out.set(entry.chunks, end);
  return end + entry.chunks.length;
}

/** Writes the fields from type to size of `entry`'s record at `at`. */
function writeFields(view: DataView, at: number, entry: TreeEntry): void {
  view.setUint8(at + 4, TYPES.indexOf(entry.type));
  view.setUint32(at + MODE_AT, entry.mode >>> 0, true);
  view.setUint32(at + MODE_AT + 4, entry.uid >>> 0, true);
  view.setUint32(at + MODE_AT + 8, entry.gid >>> 0, true);
  view.setBigInt64(at + MTIME_AT, entry.mtimeNs, true);
  view.setBigInt64(at + CTIME_AT, entry.ctimeNs, true);
  view.setBigUint64(at + INODE_AT, entry.inode, true);
  view.setBigUint64(at + INODE_AT + 8, entry.device, true);
  view.setBigUint64(at + SIZE_AT, BigInt(entry.size), true);
}

/**
 * Writes tree records into buffers of `batchBytes` and hands each full buffer to a chunk stream at once:
 * one push and one allocation per batch, not per entry. A record of the parent snapshot goes in as it is,
 * never decoded and encoded again.
 */
export class TreeWriter {
  private batch: Buffer;
  private view: DataView;
  private at = 0;

  constructor(
    private readonly stream: ChunkStream,
    private readonly batchBytes = 64 * 1024,
  ) {
    this.batch = Buffer.allocUnsafe(batchBytes);
    this.view = new DataView(this.batch.buffer, this.batch.byteOffset, this.batch.byteLength);
  }

  /** Adds an entry's record; returns the tree chunks completed (when a batch went to the stream). */
  add(entry: TreeEntry): Buffer[] {
    const [path, link] = encodedPaths(entry);
    const bytes = recordBytes(entry, path, link);
    if (bytes > this.batchBytes) return [...this.flush(), ...this.stream.push(recordOf(entry, path, link))];
    const chunks = this.at + bytes > this.batchBytes ? this.flush() : [];
    this.at = writeRecord(this.batch, this.view, this.at, entry, path, link);
    return chunks;
  }

  /** Adds a record as read from a tree (see {@link TreeDecoder.records}); returns the tree chunks completed. */
  addRecord(record: Buffer): Buffer[] {
    // A record read back is never written again: the stream may keep views of it.
    if (record.length > this.batchBytes) return [...this.flush(), ...this.stream.push(record)];
    const chunks = this.at + record.length > this.batchBytes ? this.flush() : [];
    this.batch.set(record, this.at);
    this.at += record.length;
    return chunks;
  }

  /** Ends the tree: the chunks its last records completed. */
  end(): Buffer[] {
    const chunks = this.flush();
    const last = this.stream.end();
    return last ? [...chunks, last] : chunks;
  }

  private flush(): Buffer[] {
    if (this.at === 0) return [];
    // The stream keeps views of what it is given: the next records go to a buffer of their own.
    const chunks = this.stream.push(this.batch.subarray(0, this.at));
    this.batch = Buffer.allocUnsafe(this.batchBytes);
    this.view = new DataView(this.batch.buffer, this.batch.byteOffset, this.batch.byteLength);
    this.at = 0;
    return chunks;
  }
}

/** How a parent snapshot's record of a path compares with the entry the walk makes of it now. */
export type RecordMatch =
  /** Every field but the chunk ids is the same: the record can be written again as it is. */
  | "same"
  /** A file with the same size, mtime, ctime and inode (restic's rule): its chunk ids can be reused. */
  | "same-content"
  | "changed";

const scratch = new DataView(new ArrayBuffer(HEADER_BYTES));
const scratchBytes = new Uint8Array(scratch.buffer);

/** Compares a record (as {@link TreeDecoder.records} gives it) with a file entry of the walk. */
export function matchFileRecord(record: Buffer, entry: TreeEntry): RecordMatch {
  if (record[4] !== 0 || entry.type !== "file") return "changed";
  writeFields(scratch, 0, entry);
  if (!sameBytes(record, MTIME_AT, INODE_AT + 8) || !sameBytes(record, SIZE_AT, SIZE_AT + 8))
    return "changed";
  const same =
    sameBytes(record, MODE_AT, MTIME_AT) &&
    sameBytes(record, INODE_AT + 8, SIZE_AT) &&
    record.readUInt32LE(LINK_LENGTH_AT) === 0;
  return same ? "same" : "same-content";
}

/** Whether bytes `from` to `to` of a record are those {@link matchFileRecord} wrote in its scratch header. */
function sameBytes(record: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (record[i] !== scratchBytes[i]) return false;
  return true;
}

/** The chunk ids of a record (a view of its bytes). */
export function recordChunks(record: Buffer): Buffer {
  return record.subarray(
    HEADER_BYTES + record.readUInt32LE(PATH_LENGTH_AT) + record.readUInt32LE(LINK_LENGTH_AT),
  );
}

/**
 * Compares a record's path with `path` (bytes) in the order the walk meets them, without copying it: depth
 * first, parents before children, siblings by name bytes; that is bytewise, with `/` below every other byte.
 */
export function compareRecordPath(record: Buffer, path: Uint8Array): number {
  const length = record.readUInt32LE(PATH_LENGTH_AT);
  const n = Math.min(length, path.length);
  for (let i = 0; i < n; i++) {
    const order = walkByte(record[HEADER_BYTES + i]!) - walkByte(path[i]!);
    if (order !== 0) return order;
  }
  return length - path.length;
}

/** Reads tree records from bytes that arrive in any slices. */
export class TreeDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly name: string) {}

  /** Takes the next bytes; returns the entries they completed. */
  push(bytes: Uint8Array): TreeEntry[] {
    return this.records(bytes).map((record) => this.decode(record));
  }

  /**
   * Takes the next bytes; returns the records they completed, each with its length, checked to hold a
   * known type and fields that fill it, as views of bytes that are never written again.
   */
  records(bytes: Uint8Array): Buffer[] {
    this.pending.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.pendingBytes += bytes.length;
    if (this.pendingBytes < 4) return [];
    let data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const records: Buffer[] = [];
    let at = 0;
    while (data.length - at >= 4) {
      const length = data.readUInt32LE(at);
      if (length < HEADER_BYTES - 4 || length > MAX_RECORD_BYTES)
        throw this.damaged("a record has an impossible length");
      if (data.length - at - 4 < length) break;
      const record = data.subarray(at, at + 4 + length);
      if (TYPES[record[4]!] === undefined) throw this.damaged(`unknown entry type ${record[4]}`);
      const fields =
        HEADER_BYTES +
        record.readUInt32LE(PATH_LENGTH_AT) +
        record.readUInt32LE(LINK_LENGTH_AT) +
        record.readUInt32LE(CHUNK_COUNT_AT) * ID_BYTES;
      if (fields !== record.length) throw this.damaged("a record's fields do not fill it");
      records.push(record);
      at += 4 + length;
    }
    data = data.subarray(at);
    this.pending = data.length > 0 ? [Buffer.from(data)] : [];
    this.pendingBytes = data.length;
    return records;
  }

  /** Ends the stream. @throws StrongboxError `INVALID_INPUT` when it ends inside a record. */
  end(): void {
    if (this.pendingBytes > 0) throw this.damaged("it ends inside a record");
  }

  /** The entry a record of {@link records} holds. */
  decode(record: Buffer): TreeEntry {
    const type = TYPES[record[4]!]!;
    const size = record.readBigUInt64LE(SIZE_AT);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw this.damaged("a file size is out of range");
    const pathAt = HEADER_BYTES;
    const linkAt = pathAt + record.readUInt32LE(PATH_LENGTH_AT);
    const chunksAt = linkAt + record.readUInt32LE(LINK_LENGTH_AT);
    const entry: TreeEntry = {
      path: decodePath(record.subarray(pathAt, linkAt)),
      type,
      mode: record.readUInt32LE(MODE_AT),
      uid: record.readUInt32LE(MODE_AT + 4),
      gid: record.readUInt32LE(MODE_AT + 8),
      mtimeNs: record.readBigInt64LE(MTIME_AT),
      ctimeNs: record.readBigInt64LE(CTIME_AT),
      inode: record.readBigUInt64LE(INODE_AT),
      device: record.readBigUInt64LE(INODE_AT + 8),
      size: Number(size),
      chunks: Uint8Array.prototype.slice.call(record, chunksAt),
    };
    if (type === "symlink") entry.linkTarget = decodePath(record.subarray(linkAt, chunksAt));
    return entry;
  }

  private damaged(why: string): StrongboxError {
    return new StrongboxError("INVALID_INPUT", `The tree of ${this.name} is damaged: ${why}.`, {
      details: { snapshot: this.name },
    });
  }
}

/** `/` sorts below every other byte. */
function walkByte(byte: number): number {
  return byte === 0x2f ? 0 : byte;
}
