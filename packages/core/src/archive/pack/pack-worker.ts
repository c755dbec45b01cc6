// Entry point of the pack worker thread: walks, reads and writes tar blocks with synchronous fs calls,
// which is as fast as GNU tar, without ever blocking the embedder's event loop.
import { createHash } from "node:crypto";
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { crc32 } from "node:zlib";
import { createIgnoreMatcher } from "../../ignore.js";
import { deflateBlock, mixesStoredAndDeflated, movable, WINDOW_BYTES } from "../gzip/deflate-block.js";
import { lowerThreadPriority } from "../thread-priority.js";
import { packTree } from "./pack-tree.js";
import {
  type PackWorkerData,
  type PackWorkerMessage,
  SHARED_BELL,
  SHARED_CANCEL,
  SHARED_IN_FLIGHT,
  SHARED_RING_USED,
  type ToPackWorker,
} from "./pack-worker-protocol.js";

/** Thrown inside the worker to unwind (closing open files) once the main thread cancelled. */
class PackCancelled extends Error {}

lowerThreadPriority();
const data = workerData as PackWorkerData;
const shared = new Int32Array(data.shared);
const deflateWaiting = new Int32Array(data.deflateWaiting);
const port = parentPort!;
/** The archive's sha256, fed the output chunks the main thread sends back in order. */
const archiveHash = createHash("sha256");
let outputEnded = false;

function post(message: PackWorkerMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function checkCancelled(): void {
  if (Atomics.load(shared, SHARED_CANCEL) === 1) throw new PackCancelled();
}

/** Hashes the output chunks that have arrived, sending each back to be streamed out. */
function hashOutputs(): void {
  for (
    let received = receiveMessageOnPort(data.outputs);
    received;
    received = receiveMessageOnPort(data.outputs)
  ) {
    const message = received.message as ToPackWorker;
    if (message.type === "end") {
      outputEnded = true;
      return;
    }
    archiveHash.update(message.data);
    if (message.owned) post({ type: "hashed", data: message.data }, [message.data.buffer as ArrayBuffer]);
    else post({ type: "hashed" });
  }
}

/** Hashes output while it waits; sleeps until the main thread rings, then looks again. */
function waitUntil(ready: () => boolean): void {
  for (;;) {
    const bell = Atomics.load(shared, SHARED_BELL);
    checkCancelled();
    hashOutputs();
    if (ready()) return;
    Atomics.wait(shared, SHARED_BELL, bell);
  }
}

const ringBlocks = data.ring.byteLength / data.blockSize;
let blocksAllocated = 0;
/** CRC-32 of the tar stream so far, computed here where the bytes are. */
let runningCrc = 0;
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
  if (Atomics.load(deflateWaiting, 0) === 0) return undefined;
  const dictionary = previous?.subarray(Math.max(0, previous.length - WINDOW_BYTES));
  return movable(
    deflateBlock(block, { level: data.level, storeIncompressible: true, incompressible, dictionary }),
  );
}

/** The next ring block, once the compressor has released it. */
function allocateBlock(): Buffer {
  waitUntil(() => Atomics.load(shared, SHARED_RING_USED) < ringBlocks);
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
      runningCrc = crc32(block.subarray(0, length), runningCrc);
      const deflated = helpDeflate(block.subarray(0, length), incompressible);
      // Sleeps while the main thread holds as many blocks as allowed; it wakes us as it takes them.
      waitUntil(() => Atomics.load(shared, SHARED_IN_FLIGHT) < data.blocksInFlight);
      Atomics.add(shared, SHARED_IN_FLIGHT, 1);
      const slot = block.byteOffset / data.blockSize;
      const message: PackWorkerMessage = {
        type: "block",
        slot,
        length,
        incompressible,
        counters,
        runningCrc,
      };
      if (deflated === undefined) post(message);
      else post({ ...message, deflated }, [deflated.buffer as ArrayBuffer]);
      previous = block.subarray(0, length);
    },
  });
  post({ type: "done", stats });
  waitUntil(() => outputEnded);
  post({ type: "digest", checksum: `sha256:${archiveHash.digest("hex")}` });
  data.outputs.close();
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
