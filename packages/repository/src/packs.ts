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

/** A chunk to store: its id and its bytes. */
export interface PackInput {
  id: Uint8Array;
  bytes: Uint8Array;
}

/** Bundles chunks into pack objects: each chunk compressed when that saves bytes, then sealed. */
export interface PackWriter {
  /**
   * Adds chunks to the pack being filled (deflated together on libuv's threads, not the event loop),
   * uploading the pack first whenever it is full; returns where each one is. Memory stays within one pack
   * and the chunks given.
   */
  add(chunks: readonly PackInput[]): Promise<ChunkLocation[]>;
  /** The entries of the packs uploaded since the last call (or flush): ready for an index object. */
  takeUploaded(): [Uint8Array, ChunkLocation][];
  /** Uploads the pack being filled, if any; returns the entries uploaded since the last take or flush. */
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
    for (const entry of pending) written.push(entry);
    blobs = [];
    size = 0;
    pending = [];
    packId = newPackId();
  };

  return {
    async add(chunks) {
      const payloads = await Promise.all(chunks.map(({ bytes }) => encodeBlob(bytes, level)));
      const locations: ChunkLocation[] = [];
      for (const [n, { id, bytes }] of chunks.entries()) {
        const blob = repo.sealObject(payloads[n]!, blobContext(id));
        if (size > 0 && size + blob.length > maxPackBytes) await upload();
        const location = { pack: packId, offset: size, length: blob.length, rawLength: bytes.length };
        pending.push([Buffer.from(id), location]);
        locations.push(location);
        blobs.push(blob);
        size += blob.length;
      }
      return locations;
    },
    takeUploaded() {
      const entries = written;
      written = [];
      return entries;
    },
    async flush() {
      await upload();
      return this.takeUploaded();
    },
  };
}

/** A chunk's stored payload before sealing: deflated when that is smaller, else as it is. */
async function encodeBlob(chunk: Uint8Array, level: number): Promise<Buffer> {
  const deflated = await deflate(chunk, { level });
  return deflated.length < chunk.length
    ? Buffer.concat([Buffer.of(DEFLATED), deflated])
    : Buffer.concat([Buffer.of(STORED), chunk]);
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
  return openBlob(repo, id, location, stored);
}

/**
 * A chunk from its stored blob: opened, inflated, and checked against its id.
 * @throws StrongboxError `INVALID_INPUT` when the blob is damaged (see {@link readChunk}).
 */
export async function openBlob(
  repo: Repository,
  id: Uint8Array,
  location: ChunkLocation,
  stored: Uint8Array,
): Promise<Buffer> {
  const damaged = (why: string) =>
    new StrongboxError(
      "INVALID_INPUT",
      `Chunk ${Buffer.from(id).toString("hex")} in pack ${location.pack} is damaged: ${why}.`,
      { details: { pack: location.pack, chunk: Buffer.from(id).toString("hex") } },
    );
  if (stored.length !== location.length) throw damaged("its pack is shorter than the index says");
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

/**
 * The chunks a pack's own header lists (what `check` compares with the index, or rebuilds it from), in two
 * ranged reads: the header's length, then the header.
 * @throws StrongboxError `NOT_FOUND` when the pack is missing; `INVALID_INPUT` when its header is damaged.
 */
export async function readPackHeader(repo: Repository, packId: string): Promise<ChunkIndex> {
  const { storage } = repo;
  const key = packKey(repo.prefix, packId);
  const info = await storage.stat(key);
  if (!info)
    throw new StrongboxError("NOT_FOUND", `Pack ${packId} is missing.`, { details: { pack: packId } });
  const trailer = info.size < 4 ? Buffer.alloc(0) : await readRange(storage, key, info.size - 4, 4);
  const at = headerPlace(packId, info.size, trailer);
  return openPackHeader(repo, packId, await readRange(storage, key, at.start, at.length));
}

/**
 * The chunks a pack's header lists, from the whole pack's bytes already read (no further reads).
 * @throws StrongboxError `INVALID_INPUT` when its header is damaged.
 */
export function decodePackHeader(repo: Repository, packId: string, pack: Uint8Array): ChunkIndex {
  const at = headerPlace(packId, pack.length, pack.subarray(Math.max(0, pack.length - 4)));
  return openPackHeader(repo, packId, pack.subarray(at.start, at.start + at.length));
}

/** Where a pack's sealed header is, from its size and its last four bytes (its `trailer`). */
function headerPlace(packId: string, size: number, trailer: Uint8Array): { start: number; length: number } {
  if (size < 4) throw damagedPack(packId, "it is too short");
  const length = Buffer.from(trailer.buffer, trailer.byteOffset, trailer.byteLength).readUInt32LE(0);
  if (length > size - 4) throw damagedPack(packId, "its header length is past its start");
  return { start: size - 4 - length, length };
}

/** A pack's header from its sealed bytes: opened and decoded. */
function openPackHeader(repo: Repository, packId: string, sealed: Uint8Array): ChunkIndex {
  let header: Buffer;
  try {
    header = repo.openObject(sealed, `pack header ${packId}`);
  } catch {
    throw damagedPack(packId, "its header fails authentication");
  }
  const index = new ChunkIndex();
  decodeIndexObject(header, index, `header of pack ${packId}`);
  return index;
}

function damagedPack(packId: string, why: string): StrongboxError {
  return new StrongboxError("INVALID_INPUT", `Pack ${packId} is damaged: ${why}.`, {
    details: { pack: packId },
  });
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

/** Bytes `start` to `start + length` of a stored object, in one ranged read. */
export async function readRange(
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
