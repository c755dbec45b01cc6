import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { deflateRaw, inflateRaw } from "node:zlib";
import { isStrongboxError, type StorageAdapter, StrongboxError } from "@strongbox/core";
import { ChunkIndex, type ChunkLocation } from "./chunk-index.js";
import { decodeIndexObject, encodeIndexObject } from "./index-object.js";
import type { Repository } from "./repository.js";

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/** Default bound of a pack object: S3 charges per request, so chunks travel in packs of this size. */
export const DEFAULT_PACK_BYTES = 16 * 1024 * 1024;
const STORED = 0;
const DEFLATED = 1;

/** Options of {@link createPackWriter}. */
export interface PackWriterOptions {
  /** A pack is uploaded once its blobs reach this many bytes (default 16 MiB). */
  maxPackBytes?: number;
  /** Deflate level of chunks that compress (default 1). */
  level?: number;
}

/** Bundles chunks into pack objects: each chunk compressed when that saves bytes, then sealed. */
export interface PackWriter {
  /**
   * Adds a chunk to the pack being filled (deflated on libuv's threads, not the event loop), uploading
   * the pack first once it is full. Memory stays within one pack.
   */
  add(id: Uint8Array, chunk: Uint8Array): Promise<void>;
  /** Uploads the pack being filled, if any; returns the entries written since the last flush. */
  flush(): Promise<[Uint8Array, ChunkLocation][]>;
}

/**
 * Creates a {@link PackWriter}. A pack object (`data/<2 hex>/<id>`) is the sealed blobs, then a sealed
 * header listing them (an index object's bytes, so `check` can rebuild an index from the packs), then
 * the header's length (u32, little-endian).
 */
export function createPackWriter(repo: Repository, options: PackWriterOptions = {}): PackWriter {
  const { storage, prefix } = repo;
  const maxPackBytes = options.maxPackBytes ?? DEFAULT_PACK_BYTES;
  const level = options.level ?? 1;
  let blobs: Buffer[] = [];
  let size = 0;
  let pending: [Uint8Array, ChunkLocation][] = [];
  let written: [Uint8Array, ChunkLocation][] = [];
  let packId = newPackId();

  const upload = async () => {
    if (blobs.length === 0) return;
    const header = repo.sealObject(encodeIndexObject(pending), `pack header ${packId}`);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    await storage.put(packKey(prefix, packId), Readable.from([...blobs, header, length]));
    written = written.concat(pending);
    blobs = [];
    size = 0;
    pending = [];
    packId = newPackId();
  };

  return {
    async add(id, chunk) {
      const deflated = await deflate(chunk, { level });
      const payload =
        deflated.length < chunk.length
          ? Buffer.concat([Buffer.of(DEFLATED), deflated])
          : Buffer.concat([Buffer.of(STORED), chunk]);
      const blob = repo.sealObject(payload, blobContext(id));
      if (size > 0 && size + blob.length > maxPackBytes) await upload();
      pending.push([
        Buffer.from(id),
        { pack: packId, offset: size, length: blob.length, rawLength: chunk.length },
      ]);
      blobs.push(blob);
      size += blob.length;
    },
    async flush() {
      await upload();
      const entries = written;
      written = [];
      return entries;
    },
  };
}

/**
 * Reads one chunk with a ranged read of its pack: opened, inflated, and checked against its id.
 * @throws StrongboxError `INVALID_INPUT` when the stored blob is damaged (it fails authentication, does
 *   not inflate, or does not hash to its id); `NOT_FOUND` when its pack is gone.
 */
export async function readChunk(repo: Repository, id: Uint8Array, location: ChunkLocation): Promise<Buffer> {
  const stored = await readRange(
    repo.storage,
    packKey(repo.prefix, location.pack),
    location.offset,
    location.length,
  );
  const damaged = (why: string) =>
    new StrongboxError(
      "INVALID_INPUT",
      `Chunk ${Buffer.from(id).toString("hex")} in pack ${location.pack} is damaged: ${why}.`,
      { details: { pack: location.pack, chunk: Buffer.from(id).toString("hex") } },
    );
  let payload: Buffer;
  try {
    payload = repo.openObject(stored, blobContext(id));
  } catch (error) {
    if (isStrongboxError(error, "INVALID_INPUT")) throw damaged("it fails authentication");
    throw error;
  }
  let chunk: Buffer;
  if (payload[0] === STORED) chunk = payload.subarray(1);
  else if (payload[0] === DEFLATED) chunk = await inflate(payload.subarray(1)).catch(() => Buffer.alloc(0));
  else throw damaged("unknown encoding");
  if (chunk.length !== location.rawLength || repo.chunkId(chunk) !== Buffer.from(id).toString("hex")) {
    throw damaged("its bytes do not hash to its id");
  }
  return chunk;
}

/** The chunks a pack's own header lists (what `check` compares with the index, or rebuilds it from). */
export async function readPackHeader(repo: Repository, packId: string): Promise<ChunkIndex> {
  const { storage } = repo;
  const key = packKey(repo.prefix, packId);
  const info = await storage.stat(key);
  const damaged = (why: string) =>
    new StrongboxError("INVALID_INPUT", `Pack ${packId} is damaged: ${why}.`, { details: { pack: packId } });
  if (!info)
    throw new StrongboxError("NOT_FOUND", `Pack ${packId} is missing.`, { details: { pack: packId } });
  if (info.size < 4) throw damaged("it is too short");
  const headerLength = (await readRange(storage, key, info.size - 4, 4)).readUInt32LE(0);
  if (headerLength > info.size - 4) throw damaged("its header length is past its start");
  const sealed = await readRange(storage, key, info.size - 4 - headerLength, headerLength);
  let header: Buffer;
  try {
    header = repo.openObject(sealed, `pack header ${packId}`);
  } catch {
    throw damaged("its header fails authentication");
  }
  const index = new ChunkIndex();
  decodeIndexObject(header, index, `header of pack ${packId}`);
  return index;
}

/** Where a pack is stored: `data/<first two hex digits>/<id>`, so no folder grows past 256 × packs / 256. */
export function packKey(prefix: string, packId: string): string {
  return `${prefix}data/${packId.slice(0, 2)}/${packId}`;
}

function newPackId(): string {
  return randomBytes(16).toString("hex");
}

function blobContext(id: Uint8Array): string {
  return `chunk ${Buffer.from(id).toString("hex")}`;
}

async function readRange(
  storage: StorageAdapter,
  key: string,
  start: number,
  length: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key, { range: { start, end: start + length - 1 } })) {
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}
