/**
 * Regroups a byte stream into blocks of exactly `blockSize` bytes (the last one may be shorter; empty
 * input yields none): small chunks are joined, big ones split. Every block is a fresh copy with its own
 * ArrayBuffer (never a slice of Node's shared pool), so it can be handed to a worker thread, and a source
 * that reuses its buffers after yielding them cannot change a block still being compressed.
 */
export async function* cutBlocks(
  source: AsyncIterable<Uint8Array>,
  blockSize: number,
): AsyncGenerator<Buffer> {
  let block = Buffer.allocUnsafeSlow(blockSize);
  let filled = 0;
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(blockSize - filled, chunk.length - offset);
      block.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === blockSize) {
        yield block;
        block = Buffer.allocUnsafeSlow(blockSize);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}
