/** Framing of one gzip member (RFC 1952) around a raw deflate stream produced block by block. */

const GZIP_ID1 = 0x1f;
const GZIP_ID2 = 0x8b;
const METHOD_DEFLATE = 8;
const OS_UNIX = 3;

/**
 * A final, empty fixed-Huffman deflate block. Every block before it ends byte-aligned (sync flush or
 * stored), so appending these two bytes closes the deflate stream whatever the last data block was,
 * including when there was none.
 */
export const FINAL_DEFLATE_BLOCK: Buffer = Buffer.from([0x03, 0x00]);

/**
 * The 10-byte gzip header: no name, mtime 0 (archives of the same bytes are identical), OS Unix. The
 * extra-flags byte follows zlib: 2 for the slowest level, 4 for the fastest.
 */
export function gzipHeader(level: number): Buffer {
  const extraFlags = level === 9 ? 2 : level <= 1 ? 4 : 0;
  return Buffer.from([GZIP_ID1, GZIP_ID2, METHOD_DEFLATE, 0, 0, 0, 0, 0, extraFlags, OS_UNIX]);
}

/** The 8-byte gzip trailer: CRC-32 of the uncompressed bytes, then their count modulo 2^32. */
export function gzipTrailer(crc: number, uncompressedBytes: number): Buffer {
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(uncompressedBytes % 2 ** 32, 4);
  return trailer;
}
