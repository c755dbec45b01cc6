import { decodePath, encodePath, StrongboxError } from "@strongbox/core/parts";
import { ID_BYTES } from "./chunk-index.js";

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
/** type, mode, uid, gid, mtime, ctime, inode, device, size, path length, link length, chunk count. */
const FIXED_BYTES = 1 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 8 + 4 + 4 + 4;
/** A record past this is not one this code wrote (a 64 GiB file has 4 M chunks: 128 MiB of ids). */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;

/** The bytes of one tree record: its length (u32), then the entry's fields, little-endian. */
export function encodeTreeEntry(entry: TreeEntry): Buffer {
  const path = encodePath(entry.path);
  const link = entry.linkTarget === undefined ? Buffer.alloc(0) : encodePath(entry.linkTarget);
  const length = FIXED_BYTES + path.length + link.length + entry.chunks.length;
  const out = Buffer.allocUnsafe(4 + length);
  let at = out.writeUInt32LE(length, 0);
  at = out.writeUInt8(TYPES.indexOf(entry.type), at);
  at = out.writeUInt32LE(entry.mode >>> 0, at);
  at = out.writeUInt32LE(entry.uid >>> 0, at);
  at = out.writeUInt32LE(entry.gid >>> 0, at);
  at = out.writeBigInt64LE(entry.mtimeNs, at);
  at = out.writeBigInt64LE(entry.ctimeNs, at);
  at = out.writeBigUInt64LE(entry.inode, at);
  at = out.writeBigUInt64LE(entry.device, at);
  at = out.writeBigUInt64LE(BigInt(entry.size), at);
  at = out.writeUInt32LE(path.length, at);
  at = out.writeUInt32LE(link.length, at);
  at = out.writeUInt32LE(entry.chunks.length / ID_BYTES, at);
  at += path.copy(out, at);
  at += link.copy(out, at);
  out.set(entry.chunks, at);
  return out;
}

/** Reads tree records from bytes that arrive in any slices. */
export class TreeDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly name: string) {}

  /** Takes the next bytes; returns the entries they completed. */
  push(bytes: Uint8Array): TreeEntry[] {
    this.pending.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.pendingBytes += bytes.length;
    if (this.pendingBytes < 4) return [];
    let data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const entries: TreeEntry[] = [];
    let at = 0;
    while (data.length - at >= 4) {
      const length = data.readUInt32LE(at);
      if (length < FIXED_BYTES || length > MAX_RECORD_BYTES)
        throw this.damaged("a record has an impossible length");
      if (data.length - at - 4 < length) break;
      entries.push(this.decode(data.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    data = data.subarray(at);
    this.pending = data.length > 0 ? [Buffer.from(data)] : [];
    this.pendingBytes = data.length;
    return entries;
  }

  /** Ends the stream. @throws StrongboxError `INVALID_INPUT` when it ends inside a record. */
  end(): void {
    if (this.pendingBytes > 0) throw this.damaged("it ends inside a record");
  }

  private decode(record: Buffer): TreeEntry {
    const type = TYPES[record[0]!];
    if (type === undefined) throw this.damaged(`unknown entry type ${record[0]}`);
    const pathLength = record.readUInt32LE(FIXED_BYTES - 12);
    const linkLength = record.readUInt32LE(FIXED_BYTES - 8);
    const chunkCount = record.readUInt32LE(FIXED_BYTES - 4);
    if (FIXED_BYTES + pathLength + linkLength + chunkCount * ID_BYTES !== record.length) {
      throw this.damaged("a record's fields do not fill it");
    }
    const size = record.readBigUInt64LE(45);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw this.damaged("a file size is out of range");
    const pathAt = FIXED_BYTES;
    const linkAt = pathAt + pathLength;
    const chunksAt = linkAt + linkLength;
    const entry: TreeEntry = {
      path: decodePath(record.subarray(pathAt, linkAt)),
      type,
      mode: record.readUInt32LE(1),
      uid: record.readUInt32LE(5),
      gid: record.readUInt32LE(9),
      mtimeNs: record.readBigInt64LE(13),
      ctimeNs: record.readBigInt64LE(21),
      inode: record.readBigUInt64LE(29),
      device: record.readBigUInt64LE(37),
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

/**
 * Compares two paths in the order the walk meets them (depth first, parents before children, siblings by
 * name bytes): bytewise, with `/` below every other byte.
 */
export function compareWalkOrder(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] === 0x2f ? 0 : a[i]!;
    const y = b[i] === 0x2f ? 0 : b[i]!;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}
