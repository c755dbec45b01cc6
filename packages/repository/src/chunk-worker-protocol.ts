import type { ChunkKeys } from "./blob-encoder.js";
import type { ChunkerOptions } from "./chunker.js";
import type { SharedIds } from "./shared-ids.js";

/** What a chunk worker is started with. */
export interface ChunkWorkerData {
  chunker: ChunkerOptions;
  keys: ChunkKeys;
  /** Deflate level of chunks that compress. */
  level: number;
  /** Messages of chunks a worker may have sent and not had acknowledged: its output's bound. */
  credits: number;
  /**
   * The ids the repository held when the first thread started (`ChunkIndex.share`): a chunk among them is
   * sent without its bytes, neither deflated nor copied.
   */
  known?: SharedIds | undefined;
}

/** A file for a chunk worker to read, and the job number its chunks come back under. */
export interface ReadJob {
  job: number;
  path: string | Uint8Array;
}

/**
 * To a chunk worker: files to read (all those given to it in one turn of the main thread's event loop:
 * one message each cost more than reading a small file), or a message of its acknowledged (a credit
 * back), with the memory of its blobs to reuse.
 */
export type ToChunkWorker = { type: "read"; jobs: ReadJob[] } | { type: "ack"; blobs: ArrayBuffer };

/** Why a file could not be read to its end; `code` is the system's (ENOENT, EACCES...). */
export type FileProblem =
  | { problem: "open"; code: string }
  | { problem: "not-a-file" }
  | { problem: "read"; code: string };

/** How a file read ended: its size read (the size fstat gave when the file was opened), or a problem. */
export type FileEnd = { size: number } | FileProblem;

/** One file's part of a {@link ChunkMessage}: its next `chunks` chunks, and its end when it came. */
export interface FilePart {
  job: number;
  chunks: number;
  end?: FileEnd;
}

/**
 * From a chunk worker: chunks of one or more files, in the order of the files' jobs. Chunk `n` has id
 * `ids[32n, 32n + 32)`, its sealed blob `blobLengths[n]` bytes of `blobs` after the blobs before it (none
 * for a chunk among the known ids), and `rawLengths[n]` bytes of file data.
 */
export interface ChunkMessage {
  ids: Uint8Array;
  blobs: Uint8Array;
  blobLengths: number[];
  rawLengths: number[];
  files: FilePart[];
}
