/** Largest payload of one stored deflate block (its LEN field is 16 bits). */
const MAX_STORED_BLOCK = 0xffff;
/** Block header byte (BFINAL 0, BTYPE 00, padding) plus LEN and NLEN. */
const STORED_HEADER_BYTES = 5;

/**
 * Wraps `data` as non-final stored deflate blocks, as level 0 does but without a trip through zlib.
 * Valid only where the deflate stream is byte-aligned, which holds after the gzip header and after
 * every block the compressor emits (sync-flushed or stored). Empty input yields no block.
 */
export function storedDeflateBlocks(data: Uint8Array): Buffer {
  const blocks = Math.ceil(data.length / MAX_STORED_BLOCK);
  const out = Buffer.allocUnsafe(data.length + blocks * STORED_HEADER_BYTES);
  let at = 0;
  for (let start = 0; start < data.length; start += MAX_STORED_BLOCK) {
    const length = Math.min(MAX_STORED_BLOCK, data.length - start);
    out[at] = 0;
    out.writeUInt16LE(length, at + 1);
    out.writeUInt16LE(length ^ 0xffff, at + 3);
    out.set(data.subarray(start, start + length), at + STORED_HEADER_BYTES);
    at += STORED_HEADER_BYTES + length;
  }
  return out;
}
