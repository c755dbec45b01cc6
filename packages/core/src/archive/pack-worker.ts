// Entry point of the pack worker thread: walks, reads and writes tar blocks with synchronous fs calls,
// which is as fast as GNU tar, without ever blocking the embedder's event loop.
import { parentPort, workerData } from "node:worker_threads";
import { createIgnoreMatcher } from "../ignore.js";
import { deflateBlock, mixesStoredAndDeflated, movable, WINDOW_BYTES } from "./deflate-block.js";
import { packTree } from "./pack-tree.js";
import {
  type PackWorkerData,
  type PackWorkerMessage,
  SHARED_CANCEL,
  SHARED_DEFLATE_WAITING,
  SHARED_IN_FLIGHT,
  SHARED_RING_USED,
} from "./pack-worker-protocol.js";

/** Thrown inside the worker to unwind (closing open files) once the main thread cancelled. */
class PackCancelled extends Error {}

const data = workerData as PackWorkerData;
const shared = new Int32Array(data.shared);
const port = parentPort!;

function post(message: PackWorkerMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function checkCancelled(): void {
  if (Atomics.load(shared, SHARED_CANCEL) === 1) throw new PackCancelled();
}

/** Sleeps while `shared[slot]` is at `limit`; the main thread wakes us as it lowers it. */
function waitBelow(slot: number, limit: number): void {
  for (;;) {
    checkCancelled();
    const used = Atomics.load(shared, slot);
    if (used < limit) return;
    Atomics.wait(shared, slot, used);
  }
}

const ringBlocks = data.ring.byteLength / data.blockSize;
let blocksAllocated = 0;
/**
 * The block handed over last. Its ring memory stays as it is while the next one is filled: the worker
 * itself is the only writer, and it reaches that slot again only after a full turn of the ring.
 */
let previous: Buffer | undefined;

/**
 * Deflates `block` here, as the compressor would, when it mixes stored and deflated ranges and blocks
 * wait at the deflate workers with none free to take them (every worker then still has one queued, so it
 * never idles); undefined otherwise. Many small files, half of them compressible, make nearly every
 * block such a mixed one: this keeps every core busy with one worker thread fewer.
 */
function helpDeflate(block: Buffer, incompressible: Uint32Array): Uint8Array | undefined {
  // At level 0 nothing is sampled, so no block is mixed.
  if (!mixesStoredAndDeflated(block.length, incompressible)) return undefined;
  if (Atomics.load(shared, SHARED_DEFLATE_WAITING) === 0) return undefined;
  const dictionary = previous?.subarray(Math.max(0, previous.length - WINDOW_BYTES));
  return movable(
    deflateBlock(block, { level: data.level, storeIncompressible: true, incompressible, dictionary }),
  );
}

/** The next ring block, once the compressor has released it. */
function allocateBlock(): Buffer {
  waitBelow(SHARED_RING_USED, ringBlocks);
  Atomics.add(shared, SHARED_RING_USED, 1);
  const slot = blocksAllocated++ % ringBlocks;
  return Buffer.from(data.ring, slot * data.blockSize, data.blockSize);
}

try {
  const stats = packTree(data.root, {
    ignore: createIgnoreMatcher(data.ignoreRules),
    exclude: new Set(data.exclude),
    checkCancelled,
    onWarning: (warning) => post({ type: "warning", warning }),
    allocateBlock,
    findIncompressible: data.level > 0,
    onBlock(block, length, incompressible, counters) {
      const deflated = helpDeflate(block.subarray(0, length), incompressible);
      // Sleeps while the main thread holds as many blocks as allowed; it wakes us as it takes them.
      waitBelow(SHARED_IN_FLIGHT, data.blocksInFlight);
      Atomics.add(shared, SHARED_IN_FLIGHT, 1);
      const slot = block.byteOffset / data.blockSize;
      if (deflated === undefined) post({ type: "block", slot, length, incompressible, counters });
      else
        post({ type: "block", slot, length, incompressible, counters, deflated }, [
          deflated.buffer as ArrayBuffer,
        ]);
      previous = block.subarray(0, length);
    },
  });
  post({ type: "done", stats });
} catch (error) {
  if (!(error instanceof PackCancelled)) {
    const cause = error as NodeJS.ErrnoException;
    post({
      type: "fatal",
      message: cause.message,
      ...(cause.code === undefined ? {} : { errno: cause.code }),
      ...(cause.path === undefined ? {} : { path: cause.path }),
    });
  }
}
