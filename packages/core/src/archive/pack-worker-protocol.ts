import type { ArchiveWarning } from "./types.js";

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
 * has deflated it, so there are enough for the blocks in flight, the compressor's (8), and the one
 * being filled. Reusing this memory, instead of a fresh buffer per block, leaves no garbage behind.
 */
export const PACK_RING_BLOCKS = PACK_BLOCKS_IN_FLIGHT + 9;

/** Slots of the shared Int32Array between the main thread and the pack worker. */
export const SHARED_IN_FLIGHT = 0;
/** 1 once the main thread wants the worker to stop. */
export const SHARED_CANCEL = 1;
/** Ring blocks handed out to the worker and not yet released by the compressor. */
export const SHARED_RING_USED = 2;
/** Blocks waiting at the deflate workers with none free to take them; the pack worker then helps. */
export const SHARED_DEFLATE_WAITING = 3;
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
      /** The block deflated by the pack worker (see `InputBlock.deflated`), moved with the message. */
      deflated?: Uint8Array;
    }
  | { type: "warning"; warning: ArchiveWarning }
  | { type: "done"; stats: PackTreeStats }
  | { type: "fatal"; message: string; errno?: string; path?: string };
