/** Largest payload of one stored deflate block (its LEN field is 16 bits). */
const MAX_STORED_BLOCK = 0xffff;
/** Block header byte (BFINAL 0, BTYPE 00, padding) plus LEN and NLEN. */
const STORED_HEADER_BYTES = 5;

/** Bytes that {@link writeStoredDeflateBlocks} makes of `length` bytes. */
export function storedSize(length: number): number {
  return length + Math.ceil(length / MAX_STORED_BLOCK) * STORED_HEADER_BYTES;
}

/**
 * Writes `data` into `out` at `offset` as non-final stored deflate blocks, as level 0 does but without a
 * trip through zlib; returns the offset after them. Valid only where the deflate stream is byte-aligned,
 * which holds after the gzip header and after every block the compressor emits (sync-flushed or stored).
 * Empty input yields no block.
 */
export function writeStoredDeflateBlocks(data: Uint8Array, out: Uint8Array, offset: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = offset;
  for (let start = 0; start < data.length; start += MAX_STORED_BLOCK) {
    const length = Math.min(MAX_STORED_BLOCK, data.length - start);
    out[at] = 0;
    view.setUint16(at + 1, length, true);
    view.setUint16(at + 3, length ^ 0xffff, true);
    out.set(data.subarray(start, start + length), at + STORED_HEADER_BYTES);
    at += STORED_HEADER_BYTES + length;
  }
  return at;
}
