// @strongbox/core/threads: what a worker thread of another package (the repository's chunk workers) takes
// from core, and how such a thread is started: three modules with no dependencies, so a thread that
// imports only this starts in the time of an empty one. `@strongbox/core/parts` and `@strongbox/core`
// export all of it too.

export {
  HIGH_ENTROPY_BITS,
  looksCompressed,
  sampleEntropyBits,
} from "./archive/gzip/deflate-incompressible.js";
export { COLLECT_OFTEN, spawnWorker } from "./archive/spawn-worker.js";
export { lowerThreadPriority } from "./archive/thread-priority.js";
