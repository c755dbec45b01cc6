import type { MessagePort } from "node:worker_threads";
import type { ArchiveWarning } from "../types.js";

/**
 * Size of the tar blocks the pack worker hands to the main thread: big enough that zlib setup and
 * message passing cost little, small enough that a few in flight keep memory flat (perf-notes.md).
 */
export const PACK_BLOCK_SIZE = 512 * 1024;

/**
 * Blocks the worker may have handed over that the compressor has not taken yet. The worker sleeps
 * (Atomics.wait) once it is this far ahead, so a slow consumer bounds memory.
 */
export const PACK_BLOCKS_IN_FLIGHT = 4;

/**
 * Blocks of the shared ring the worker writes tar data into: a block stays in use until the compressor
 * has deflated it and the block after it (whose dictionary is its tail), so there are enough for the
 * blocks in flight, the compressor's (8), the one kept for its tail, and the one being filled. Reusing
 * this memory, instead of a fresh buffer per block, leaves no garbage behind.
 */
export const PACK_RING_BLOCKS = PACK_BLOCKS_IN_FLIGHT + 10;

/** Slots of the shared Int32Array between the main thread and the pack worker. */
export const SHARED_IN_FLIGHT = 0;
/** 1 once the main thread wants the worker to stop. */
export const SHARED_CANCEL = 1;
/** Ring blocks handed out to the worker and not yet released by the compressor. */
export const SHARED_RING_USED = 2;
/**
 * Rung (incremented, then notified) by the main thread whenever something the worker may be waiting for
 * happens: a block taken or released, an output chunk to hash, a cancel. The worker sleeps on this one
 * slot, so no wake-up is lost whichever it waits for.
 */
export const SHARED_BELL = 3;
/** Length of the shared Int32Array. */
export const SHARED_SLOTS = 4;

/** What the main thread tells the pack worker at start. */
export interface PackWorkerData {
  /** Absolute path of the directory to pack (already checked to be a directory). */
  root: string;
  /** Ignore rules, one a line (already validated by compiling them once on the main thread). */
  ignoreRules: string;
  /** Absolute paths never archived (the archive being written, when it lies inside the root). */
  exclude: string[];
  /**
   * The gzip level. Above 0, file contents are sampled to mark the incompressible ones (see
   * `TarBlockWriter`), and blocks that mix them with compressible data are deflated by the pack worker
   * itself while blocks wait at the deflate workers with none free.
   */
  level: number;
  /** SharedArrayBuffer of {@link SHARED_SLOTS} Int32 slots. */
  shared: SharedArrayBuffer;
  /**
   * Slot 0: blocks waiting at the deflate threads with none free to take them up (`ArchiveWorkers`):
   * while above 0, the pack worker deflates blocks itself.
   */
  deflateWaiting: SharedArrayBuffer;
  /**
   * Where the main thread sends the archive's output chunks ({@link ToPackWorker}), in order, for the
   * worker to hash: read with `receiveMessageOnPort`, since the worker's event loop does not run while it
   * packs.
   */
  outputs: MessagePort;
  blockSize: number;
  blocksInFlight: number;
  /** {@link PACK_RING_BLOCKS} blocks of `blockSize` bytes, used in turn. */
  ring: SharedArrayBuffer;
}

/** Running counters, sent with every block. */
export interface PackCounters {
  /** Entries archived so far (files, directories, symlinks). */
  entries: number;
  /** File content bytes archived so far. */
  sourceBytes: number;
}

/** Totals of a finished walk. */
export interface PackTreeStats {
  files: number;
  directories: number;
  symlinks: number;
  sourceBytes: number;
  skipped: number;
}

/** Messages from the pack worker, in the order they happen. */
export type PackWorkerMessage =
  | {
      type: "block";
      /** Index of the ring block holding the data. */
      slot: number;
      length: number;
      /** `[start, end)` pairs of file content that looks already compressed. */
      incompressible: Uint32Array;
      counters: PackCounters;
      /** CRC-32 of the tar stream up to the end of this block. */
      runningCrc: number;
      /** The block deflated by the pack worker (see `InputBlock.deflated`), moved with the message. */
      deflated?: Uint8Array;
    }
  | { type: "warning"; warning: ArchiveWarning }
  | { type: "done"; stats: PackTreeStats }
  /** An output chunk hashed, in order; its memory moved back when it was moved here. */
  | { type: "hashed"; data?: Uint8Array }
  /** Every output chunk hashed: `sha256:<hex>` of the archive. */
  | { type: "digest"; checksum: string }
  | { type: "fatal"; message: string; errno?: string; path?: string };

/** Messages from the main thread on the `outputs` port. */
export type ToPackWorker =
  /** The archive's next bytes, to hash and send back (`owned`: moved here, to be moved back). */
  | { type: "output"; data: Uint8Array; owned: boolean }
  /** No more output: send the digest. */
  | { type: "end" };
