import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { PassThrough } from "node:stream";
import { isStrongboxError, type StorageAdapter, StrongboxError } from "@strongbox/core/parts";
import {
  blobContext,
  chunkIdBytes,
  chunkOfPayload,
  createBlobEncoder,
  type SealedBlob,
} from "./blob-encoder.js";
import { ChunkIndex, type ChunkLocation } from "./chunk-index.js";
import { decodeIndexObject, encodeIndexObject } from "./index-object.js";
import { chunkingSecrets, type Repository } from "./repository.js";

/** Default bound of a pack object: S3 charges per request, so chunks travel in packs of this size. */
export const DEFAULT_PACK_BYTES = 16 * 1024 * 1024;

/** Options of {@link createPackWriter}. */
export interface PackWriterOptions {
  /** A pack is uploaded once its blobs reach this many bytes (default 16 MiB). */
  maxPackBytes?: number;
  /** Deflate level of chunks given to {@link PackWriter.add} that compress (default 1). */
  level?: number;
  /** Called after each pack is uploaded: its id, its stored bytes and how many chunks it holds. */
  onPackUploaded?: (pack: { id: string; bytes: number; chunks: number }) => void;
}

/** A chunk to store: its id and its bytes. */
export interface PackInput {
  id: Uint8Array;
  bytes: Uint8Array;
}

/**
 * What a pack holds: files' chunks, or snapshot trees' chunks. The two never share a pack (restic keeps
 * tree and data blobs apart the same way): reading a snapshot's tree, which every backup does for its
 * parent, then takes a ranged read or two instead of one per tree chunk scattered among file data.
 */
export type PackKind = "data" | "tree";

/** Bundles chunks into pack objects, streamed to the storage as they fill. */
export interface PackWriter {
  /**
   * Adds chunks to the pack being filled, each compressed when that saves bytes and sealed here, on the
   * calling thread; returns where each one is. See {@link PackWriter.addBlobs}.
   */
  add(chunks: readonly PackInput[], kind?: PackKind): Promise<ChunkLocation[]>;
  /**
   * Adds chunks already encoded and sealed (by chunk workers, or copied whole from another pack),
   * uploading the pack first whenever it is full; returns where each one is. The blobs are copied: the
   * caller may reuse their memory once the promise settles. Calls land in the packs in call order. Memory
   * stays within one pack's buffered piece (one of each kind) and what the storage buffers. `kind`
   * (default `data`) chooses the pack: one of each kind fills at a time.
   */
  addBlobs(blobs: readonly SealedBlob[], kind?: PackKind): Promise<ChunkLocation[]>;
  /** The entries of the packs uploaded since the last call (or flush): ready for an index object. */
  takeUploaded(): [Uint8Array, ChunkLocation][];
  /** Uploads the packs being filled, if any; returns the entries uploaded since the last take or flush. */
  flush(): Promise<[Uint8Array, ChunkLocation][]>;
  /** Gives up the packs being filled: their uploads fail, so the storage keeps nothing of them. */
  abort(reason: Error): void;
}

interface OpenPack {
  id: string;
  body: PassThrough;
  put: Promise<unknown>;
  size: number;
  entries: [Uint8Array, ChunkLocation][];
  /** Blobs gathered for the next write: one write of a MiB, not one per 16 KiB blob. */
  piece: Buffer;
  pieceUsed: number;
}

/** Bytes of a pack written at once, and what its stream holds before the writer waits for the storage. */
const PIECE_BYTES = 1024 * 1024;

/**
 * Creates a {@link PackWriter}. A pack object (`data/<2 hex>/<id>`) is the sealed blobs, then a sealed
 * header listing them (an index object's bytes, so `check` can rebuild an index from the packs), then
 * the header's length (u32, little-endian).
 */
export function createPackWriter(repo: Repository, options: PackWriterOptions = {}): PackWriter {
  const { storage, prefix } = repo;
  const maxPackBytes = options.maxPackBytes ?? DEFAULT_PACK_BYTES;
  const encoder = createBlobEncoder(chunkingSecrets(repo).keys, options.level ?? 1);
  const open = new Map<PackKind, OpenPack>();
  let written: [Uint8Array, ChunkLocation][] = [];
  let appended: Promise<void> = Promise.resolve();

  /** Uploads finishing in the background while the next pack fills (at most UPLOADS_AT_ONCE). */
  const uploads = new Set<Promise<void>>();
  let uploadFailure: unknown;
  const waitForUploads = async (atMost: number) => {
    while (uploads.size > atMost) await Promise.race(uploads);
    if (uploadFailure !== undefined) throw uploadFailure;
  };
  const openPack = (): OpenPack => {
    const id = newPackId();
    // The pack streams to the storage as it fills: memory holds what the storage buffers, not the pack.
    const body = new PassThrough({ highWaterMark: PIECE_BYTES });
    // Destroyed by abort, perhaps after the storage stopped listening (its put already failed): the
    // put's promise reports what went wrong, the stream's event must not go uncaught.
    body.on("error", () => undefined);
    const put = storage.put(packKey(prefix, id), body);
    put.catch(() => undefined);
    return { id, body, put, size: 0, entries: [], piece: Buffer.allocUnsafe(PIECE_BYTES), pieceUsed: 0 };
  };
  const write = async (pack: OpenPack, bytes: Buffer) => {
    if (pack.body.write(bytes)) return;
    const ended = pack.put.then(() => {
      throw new Error(`The storage ended the upload of pack ${pack.id} before the pack did.`);
    });
    await Promise.race([once(pack.body, "drain"), ended]);
  };
  /** Copies a blob into the pack's piece, writing the piece each time it fills. */
  const append = async (pack: OpenPack, blob: Uint8Array) => {
    let at = 0;
    while (at < blob.length) {
      const count = Math.min(blob.length - at, PIECE_BYTES - pack.pieceUsed);
      pack.piece.set(blob.subarray(at, at + count), pack.pieceUsed);
      pack.pieceUsed += count;
      at += count;
      if (pack.pieceUsed === PIECE_BYTES) {
        const full = pack.piece;
        pack.piece = Buffer.allocUnsafe(PIECE_BYTES);
        pack.pieceUsed = 0;
        await write(pack, full);
      }
    }
  };
  const upload = async (kind: PackKind) => {
    const pack = open.get(kind);
    if (!pack) return;
    open.delete(kind);
    const header = repo.sealObject(encodeIndexObject(pack.entries), `pack header ${pack.id}`);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    pack.body.end(Buffer.concat([pack.piece.subarray(0, pack.pieceUsed), header, length]));
    const uploaded = { id: pack.id, bytes: pack.size + header.length + 4, chunks: pack.entries.length };
    const put = pack.put.then(
      () => {
        // Listed for an index object only once the pack is stored whole.
        for (const entry of pack.entries) written.push(entry);
        options.onPackUploaded?.(uploaded);
      },
      (error: unknown) => {
        uploadFailure ??= error;
      },
    );
    const tracked = put.finally(() => uploads.delete(tracked));
    uploads.add(tracked);
    await waitForUploads(UPLOADS_AT_ONCE - 1);
  };
  const addBlobs = (blobs: readonly SealedBlob[], kind: PackKind = "data"): Promise<ChunkLocation[]> => {
    const added = appended.then(async () => {
      const locations: ChunkLocation[] = [];
      for (const { id, blob, rawLength } of blobs) {
        let pack = open.get(kind);
        if (pack && pack.size > 0 && pack.size + blob.length > maxPackBytes) {
          await upload(kind);
          pack = undefined;
        }
        if (!pack) {
          pack = openPack();
          open.set(kind, pack);
        }
        const location = { pack: pack.id, offset: pack.size, length: blob.length, rawLength };
        pack.entries.push([Buffer.from(id), location]);
        pack.size += blob.length;
        locations.push(location);
        await append(pack, blob);
      }
      return locations;
    });
    // The next call appends after this one, whether this one worked or not (its caller sees its error).
    appended = added.then(
      () => undefined,
      () => undefined,
    );
    return added;
  };

  return {
    add: (chunks, kind) =>
      addBlobs(
        chunks.map(({ id, bytes }) => ({ id, blob: encoder.encode(id, bytes), rawLength: bytes.length })),
        kind,
      ),
    addBlobs,
    takeUploaded() {
      const entries = written;
      written = [];
      return entries;
    },
    async flush() {
      await appended;
      for (const kind of [...open.keys()]) await upload(kind);
      await waitForUploads(0);
      return this.takeUploaded();
    },
    abort(reason) {
      // The storage drops a put whose body fails (a temporary file removed, a multipart upload aborted).
      for (const pack of open.values()) pack.body.destroy(reason);
      open.clear();
    },
  };
}

/** Packs uploading at once: one fills while the other travels. */
const UPLOADS_AT_ONCE = 2;

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
  const chunk = chunkOfPayload(payload);
  if (chunk === undefined) throw damaged("its payload does not decode");
  if (
    chunk.length !== location.rawLength ||
    !chunkIdBytes(chunkingSecrets(repo).keys.idKey, chunk).equals(id)
  ) {
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

/** Bytes `start` to `start + length` of a stored object, in one ranged read. */
export async function readRange(
  storage: StorageAdapter,
  key: string,
  start: number,
  length: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key, { range: { start, end: start + length - 1 } })) {
    const bytes = chunk as Uint8Array;
    chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  // One piece (a read of up to a MiB) is the answer as it is: no copy.
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
