import { decodePath } from "../../path-bytes.js";
import { corruptArchive } from "../extract/extract-errors.js";

/** Size of a tar block: headers are one block, data is padded to whole blocks. */
export const BLOCK_SIZE = 512;

/**
 * The fields of one 512-byte tar header, decoded but not yet merged with pax or GNU long names. Names are
 * decoded with {@link decodePath}, so bytes that are not UTF-8 are kept.
 */
export interface RawTarHeader {
  name: string;
  mode: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** The typeflag character (`"0"` for a regular file, `"x"` for a pax header, ...). */
  typeflag: string;
  linkname: string;
}

/** True when the block holds only zero bytes: the end-of-archive marker. */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK_SIZE; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Decodes one header block (ustar, GNU or v7). Throws `INVALID_INPUT` when its checksum does not match,
 * which is how a corrupt or misaligned stream shows up.
 */
export function decodeHeader(block: Uint8Array): RawTarHeader {
  verifyChecksum(block);
  const magic = decodePath(readField(block, 257, 6));
  const name = readField(block, 0, 100);
  // Only POSIX ustar has the prefix field; GNU tar stores atime/ctime in those bytes.
  const prefix = magic === "ustar" ? readField(block, 345, 155) : new Uint8Array(0);
  const typeflag = block[156] === 0 ? "0" : String.fromCharCode(block[156] ?? 0x30);
  // Base-256 can say minus one: a size that would make the reader step backwards or zero a file.
  const size = readNumber(block, 124, 12, "size");
  if (size < 0) throw corruptArchive("a tar header has a negative size", { size });
  return {
    // Joined as bytes: the name is decoded whole, never as two halves.
    name: decodePath(prefix.length === 0 ? name : Buffer.concat([prefix, SLASH, name])),
    mode: readNumber(block, 100, 8, "mode"),
    size,
    mtime: readNumber(block, 136, 12, "mtime"),
    typeflag,
    linkname: decodePath(readField(block, 157, 100)),
  };
}

function verifyChecksum(block: Uint8Array): void {
  const stored = readNumber(block, 148, 8, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 0x100 : byte;
  }
  // Some old tars summed signed chars; accept either, like GNU tar.
  if (stored !== unsigned && stored !== signed) {
    throw corruptArchive("a tar header's checksum does not match", { stored, computed: unsigned });
  }
}

const SLASH = Buffer.from("/");

/** The bytes of a NUL-terminated (or full-width) string field. */
function readField(block: Uint8Array, offset: number, length: number): Uint8Array {
  let end = offset;
  const limit = offset + length;
  while (end < limit && block[end] !== 0) end++;
  return block.subarray(offset, end);
}

/** Reads an octal field, or a base-256 one (first byte with the high bit set) for large values. */
export function readNumber(block: Uint8Array, offset: number, length: number, field: string): number {
  const first = block[offset] ?? 0;
  if (first & 0x80) return readBase256(block, offset, length);
  let value = 0;
  let seenDigit = false;
  for (let i = offset; i < offset + length; i++) {
    const byte = block[i] ?? 0;
    if (byte === 0 || (byte === 0x20 && seenDigit)) break;
    if (byte === 0x20) continue;
    if (byte < 0x30 || byte > 0x37) throw corruptArchive(`a tar header has a bad ${field} field`);
    value = value * 8 + (byte - 0x30);
    seenDigit = true;
  }
  return value;
}

function readBase256(block: Uint8Array, offset: number, length: number): number {
  const negative = ((block[offset] ?? 0) & 0x40) !== 0;
  let value = (block[offset] ?? 0) & 0x3f;
  if (negative) value = ~value & 0x3f;
  for (let i = offset + 1; i < offset + length; i++) {
    const byte = block[i] ?? 0;
    value = value * 256 + (negative ? ~byte & 0xff : byte);
  }
  if (!Number.isSafeInteger(value)) throw corruptArchive("a tar header holds a number too large to use");
  return negative ? -(value + 1) : value;
}
