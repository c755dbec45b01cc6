import { constants, createDeflateRaw, type DeflateRaw } from "node:zlib";
import { FINAL_DEFLATE_BLOCK } from "@strongbox/core/parts";

/** Deflates chunks one by one, each into a raw deflate stream of its own, on libuv's threads. */
export interface ChunkDeflater {
  /** The chunk as a complete raw deflate stream that inflates alone (no reference to other chunks). */
  deflate(chunk: Uint8Array): Promise<Buffer>;
  /** Frees the zlib states; calls after it fail. */
  close(): void;
}

/**
 * Creates a {@link ChunkDeflater} over `streams` zlib states kept for its whole life. A zlib state per chunk
 * (what `zlib.deflateRaw` makes) allocates and clears a few hundred KiB each time: on 16 KiB chunks that
 * cost eight times the deflating itself. Here each state deflates chunk after chunk with a full flush
 * after each (the dictionary is dropped there: the next chunk never refers back), and the bytes a chunk
 * gave, ended with an empty final block (core's `FINAL_DEFLATE_BLOCK`, as pigz ends a stream), are a raw deflate stream of their own. The `streams` states run
 * at once on the thread pool; a chunk goes to the one with the fewest bytes waiting.
 */
export function createChunkDeflater(level: number, streams: number): ChunkDeflater {
  const lanes = Array.from({ length: streams }, () => createLane(level));
  return {
    deflate(chunk) {
      let lane = lanes[0]!;
      for (const other of lanes) if (other.waiting < lane.waiting) lane = other;
      return lane.deflate(chunk);
    },
    close() {
      for (const lane of lanes) lane.stream.close();
    },
  };
}

interface Lane {
  stream: DeflateRaw;
  /** Bytes written and not yet deflated. */
  waiting: number;
  deflate(chunk: Uint8Array): Promise<Buffer>;
}

function createLane(level: number): Lane {
  const stream = createDeflateRaw({ level, flush: constants.Z_FULL_FLUSH });
  // Output comes as `data` before the write's callback: what came since the last callback is the chunk's.
  let output: Buffer[] = [];
  stream.on("data", (bytes: Buffer) => output.push(bytes));
  // A zlib error fails the writes waiting (through their callbacks); the event must not go unhandled.
  stream.on("error", () => undefined);
  const lane: Lane = {
    stream,
    waiting: 0,
    deflate(chunk) {
      lane.waiting += chunk.length;
      return new Promise((resolve, reject) => {
        stream.write(chunk, (error) => {
          lane.waiting -= chunk.length;
          const deflated = output;
          output = [];
          if (error) reject(error);
          else resolve(Buffer.concat([...deflated, FINAL_DEFLATE_BLOCK]));
        });
      });
    },
  };
  return lane;
}
