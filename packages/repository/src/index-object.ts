import { isStrongboxError, StrongboxError } from "@strongbox/core/parts";
import { type ChunkIndex, type ChunkLocation, RECORD_BYTES } from "./chunk-index.js";

const MAGIC = Buffer.from("SBIX");
const VERSION = 1;

/**
 * The bytes of an index object (before sealing): `SBIX`, version 1, the packs named (u32 count, then each
 * id as u8 length and ASCII), the entries (u32 count, then each: 32-byte id, u32 pack number, offset,
 * length and raw length), all little-endian.
 */
export function encodeIndexObject(entries: Iterable<readonly [Uint8Array, ChunkLocation]>): Buffer {
  const packs = new Map<string, number>();
  const rows: [Uint8Array, ChunkLocation][] = [];
  for (const [id, location] of entries) {
    if (!packs.has(location.pack)) packs.set(location.pack, packs.size);
    rows.push([id, location]);
  }
  const names = [...packs.keys()].map((pack) => Buffer.from(pack, "ascii"));
  const packBytes = names.reduce((sum, name) => sum + 1 + name.length, 0);
  const out = Buffer.alloc(MAGIC.length + 1 + 4 + packBytes + 4 + rows.length * RECORD_BYTES);
  let at = MAGIC.copy(out, 0);
  at = out.writeUInt8(VERSION, at);
  at = out.writeUInt32LE(names.length, at);
  for (const name of names) {
    if (name.length > 255) throw new RangeError("A pack id is at most 255 characters.");
    at = out.writeUInt8(name.length, at);
    at += name.copy(out, at);
  }
  at = out.writeUInt32LE(rows.length, at);
  for (const [id, location] of rows) {
    at += Buffer.from(id.buffer, id.byteOffset, id.byteLength).copy(out, at);
    at = out.writeUInt32LE(packs.get(location.pack)!, at);
    at = out.writeUInt32LE(location.offset, at);
    at = out.writeUInt32LE(location.length, at);
    at = out.writeUInt32LE(location.rawLength, at);
  }
  return out;
}

/** Bytes of an index object (before sealing) naming packs with ids of these lengths and holding `entries` entries. */
export function indexObjectLength(packIdLengths: readonly number[], entries: number): number {
  const packBytes = packIdLengths.reduce((sum, length) => sum + 1 + length, 0);
  return MAGIC.length + 1 + 4 + packBytes + 4 + entries * RECORD_BYTES;
}

/**
 * Adds the entries of an index object to `index`; returns how many it held.
 * @throws StrongboxError `INVALID_INPUT` when the bytes are not a whole index object (`name` says which);
 *   nothing is added then.
 */
export function decodeIndexObject(bytes: Uint8Array, index: ChunkIndex, name: string): number {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const damaged = (why: string) =>
    new StrongboxError("INVALID_INPUT", `The index object ${name} is damaged: ${why}.`, {
      details: { object: name },
    });
  if (data.length < MAGIC.length + 9 || !data.subarray(0, MAGIC.length).equals(MAGIC))
    throw damaged("no index header");
  if (data[MAGIC.length] !== VERSION) throw damaged(`unknown version ${data[MAGIC.length]}`);
  let at = MAGIC.length + 1;
  const packCount = data.readUInt32LE(at);
  at += 4;
  const packs: string[] = [];
  for (let i = 0; i < packCount; i++) {
    if (at >= data.length) throw damaged("it ends inside its pack table");
    const length = data[at++]!;
    if (at + length > data.length) throw damaged("it ends inside its pack table");
    packs.push(data.toString("ascii", at, at + length));
    at += length;
  }
  if (at + 4 > data.length) throw damaged("it ends before its entries");
  const count = data.readUInt32LE(at);
  at += 4;
  if (data.length !== at + count * RECORD_BYTES)
    throw damaged(`${count} entries do not fill its ${data.length} bytes`);
  try {
    index.addRecords(data.subarray(at), packs);
  } catch (error) {
    // The records are whole (checked above): what is refused is a pack number past the pack table.
    if (isStrongboxError(error, "INVALID_INPUT")) throw damaged("an entry names a pack it does not list");
    throw error;
  }
  return count;
}
