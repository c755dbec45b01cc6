// Entry point of the pack worker thread: walks, reads and writes tar blocks with synchronous fs calls,
// which is as fast as GNU tar, without ever blocking the embedder's event loop.
import { parentPort, workerData } from "node:worker_threads";
import { createIgnoreMatcher } from "../ignore.js";
import { packTree } from "./pack-tree.js";
import {
  type PackWorkerData,
  type PackWorkerMessage,
  SHARED_CANCEL,
  SHARED_IN_FLIGHT,
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

/** Sleeps while the main thread holds as many blocks as allowed; it wakes us as it takes them. */
function waitForRoom(): void {
  for (;;) {
    checkCancelled();
    const inFlight = Atomics.load(shared, SHARED_IN_FLIGHT);
    if (inFlight < data.blocksInFlight) return;
    Atomics.wait(shared, SHARED_IN_FLIGHT, inFlight);
  }
}

try {
  const stats = packTree(data.root, {
    ignore: createIgnoreMatcher(data.ignoreRules),
    exclude: new Set(data.exclude),
    blockSize: data.blockSize,
    checkCancelled,
    onWarning: (warning) => post({ type: "warning", warning }),
    onBlock(block, length, counters) {
      waitForRoom();
      Atomics.add(shared, SHARED_IN_FLIGHT, 1);
      post({ type: "block", buffer: block.buffer as ArrayBuffer, length, counters }, [
        block.buffer as ArrayBuffer,
      ]);
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
