import type { Chunker } from "./chunker.js";

/** Turns a chunker's cut lengths into the chunks' bytes, whatever slices the bytes arrive in. */
export interface ChunkStream {
  /**
   * Takes the next bytes; returns the chunks they completed. A chunk within one push is a view of its
   * bytes (no copy: give each push a buffer of its own); one spanning pushes is a copy.
   */
  push(bytes: Uint8Array): Buffer[];
  /** Ends the stream: its last chunk, if any bytes were pending; the chunker starts fresh. */
  end(): Buffer | undefined;
}

/** A {@link ChunkStream} over `chunker`. */
export function createChunkStream(chunker: Chunker): ChunkStream {
  let carry: Buffer[] = [];
  let carried = 0;
  const take = (bytes: Uint8Array, start: number, end: number): Buffer => {
    const slice = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
    if (carried === 0) return slice;
    const chunk = Buffer.concat([...carry, slice], carried + slice.length);
    carry = [];
    carried = 0;
    return chunk;
  };
  return {
    push(bytes) {
      const chunks: Buffer[] = [];
      let at = 0;
      for (const length of chunker.push(bytes)) {
        // The first cut's length counts the bytes carried from earlier pushes.
        const end = at + length - carried;
        chunks.push(take(bytes, at, end));
        at = end;
      }
      if (at < bytes.length) {
        carry.push(Buffer.from(bytes.subarray(at)));
        carried += bytes.length - at;
      }
      return chunks;
    },
    end() {
      const length = chunker.end();
      if (length === 0) return undefined;
      return take(new Uint8Array(0), 0, 0);
    },
  };
}
