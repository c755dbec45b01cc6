// Entry point of a chunk worker thread: reads files with synchronous calls, cuts them into chunks, and
// names, compresses and seals each one, so that the thread answering the embedder only deduplicates and
// writes packs. See chunk-workers.ts for the side that starts it.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { lowerThreadPriority } from "@strongbox/core/threads";
import { createBlobEncoder, ID_BYTES } from "./blob-encoder.js";
import { createChunkStream } from "./chunk-stream.js";
import type {
  ChunkMessage,
  ChunkWorkerData,
  FileEnd,
  FilePart,
  ReadJob,
  ToChunkWorker,
} from "./chunk-worker-protocol.js";
import { createChunker } from "./chunker.js";
import { holds } from "./shared-ids.js";

/** Files are read this much at a time, into one buffer reused for every read. */
const READ_BYTES = 1024 * 1024;
/** A message carries about this many bytes of blobs (more only for a single larger blob). */
const MESSAGE_BYTES = 1024 * 1024;
/** O_NOFOLLOW: a file swapped for a symlink after the listing is never followed; O_NONBLOCK: nor a fifo. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

lowerThreadPriority();
const data = workerData as ChunkWorkerData;
const port = parentPort!;
const encoder = createBlobEncoder(
  {
    idKey: data.keys.idKey && Buffer.from(data.keys.idKey),
    dataKey: data.keys.dataKey && Buffer.from(data.keys.dataKey),
  },
  data.level,
);
const stream = createChunkStream(createChunker(data.chunker));
const { known } = data;
const readBuffer = Buffer.allocUnsafe(READ_BYTES);

const jobs: ReadJob[] = [];
let credits = data.credits;
/** Message memory the main thread gave back: reused, so that no message pays for fresh pages. */
const spare: ArrayBuffer[] = [];
let wake: (() => void) | undefined;
port.on("message", (message: ToChunkWorker) => {
  if (message.type === "read") jobs.push(...message.jobs);
  else {
    credits++;
    spare.push(message.blobs);
  }
  wake?.();
});
const newBlobs = () => {
  const reused = spare.pop();
  return reused ? Buffer.from(reused) : Buffer.allocUnsafeSlow(MESSAGE_BYTES);
};
const woken = () =>
  new Promise<void>((resolve) => {
    wake = () => {
      wake = undefined;
      resolve();
    };
  });

/** The message being filled. */
let blobs = newBlobs();
let used = 0;
let ids: Buffer[] = [];
let blobLengths: number[] = [];
let rawLengths: number[] = [];
let files: FilePart[] = [];

/** Sends the message being filled, once the main thread has acknowledged enough of the earlier ones. */
async function send(): Promise<void> {
  if (files.length === 0) return;
  while (credits === 0) await woken();
  credits--;
  // Memory of its own (not a slice of Node's buffer pool), so it moves to the main thread uncopied.
  const idBytes = Buffer.allocUnsafeSlow(ids.length * ID_BYTES);
  for (const [n, id] of ids.entries()) idBytes.set(id, n * ID_BYTES);
  const message: ChunkMessage = {
    ids: idBytes,
    blobs: blobs.subarray(0, used),
    blobLengths,
    rawLengths,
    files,
  };
  port.postMessage(message, [message.blobs.buffer as ArrayBuffer, message.ids.buffer as ArrayBuffer]);
  blobs = newBlobs();
  used = 0;
  ids = [];
  blobLengths = [];
  rawLengths = [];
  files = [];
}

/** The current message's part of file `job`. */
function partOf(job: number): FilePart {
  const last = files[files.length - 1];
  if (last?.job === job) return last;
  const part = { job, chunks: 0 };
  files.push(part);
  return part;
}

async function addChunk(job: number, chunk: Buffer): Promise<void> {
  const id = encoder.id(chunk);
  // A chunk the repository holds goes as its id alone: the main thread drops it as a duplicate anyway.
  const parts = known && holds(known, id) ? [] : encoder.encodeParts(id, chunk);
  let length = 0;
  for (const part of parts) length += part.length;
  if (used + length > blobs.length) {
    await send();
    if (length > blobs.length) blobs = Buffer.allocUnsafeSlow(length);
  }
  for (const part of parts) {
    blobs.set(part, used);
    used += part.length;
  }
  ids.push(id);
  blobLengths.push(length);
  rawLengths.push(chunk.length);
  partOf(job).chunks++;
}

/** Reads, chunks and encodes one file; its end (size or problem) goes into the message. */
async function chunkFile(job: number, path: string | Uint8Array): Promise<void> {
  let fd: number;
  try {
    fd = openSync(typeof path === "string" ? path : Buffer.from(path), OPEN_FLAGS);
  } catch (cause) {
    partOf(job).end = { problem: "open", code: codeOf(cause) };
    return;
  }
  let end: FileEnd;
  try {
    end = await chunkOpenFile(job, fd);
  } finally {
    closeSync(fd);
  }
  partOf(job).end = end;
}

async function chunkOpenFile(job: number, fd: number): Promise<FileEnd> {
  let stat: import("node:fs").Stats;
  try {
    stat = fstatSync(fd);
  } catch (cause) {
    return { problem: "read", code: codeOf(cause) };
  }
  if (!stat.isFile()) return { problem: "not-a-file" };
  let size = 0;
  let left = stat.size;
  while (left > 0) {
    let read: number;
    try {
      read = readSync(fd, readBuffer, 0, Math.min(READ_BYTES, left), null);
    } catch (cause) {
      stream.end();
      return { problem: "read", code: codeOf(cause) };
    }
    if (read === 0) break;
    size += read;
    left -= read;
    // The chunks are views of the read buffer: each is encoded (copied) before the next read.
    for (const chunk of stream.push(readBuffer.subarray(0, read))) await addChunk(job, chunk);
  }
  // The size fstat gave is read: no read past it to see the end (one call less per file). A file that
  // grew meanwhile is cut there, as pack cuts it; its new mtime makes the next backup read it.
  const last = stream.end();
  if (last) await addChunk(job, last);
  return { size };
}

function codeOf(cause: unknown): string {
  return (cause as NodeJS.ErrnoException).code ?? String(cause);
}

async function run(): Promise<never> {
  for (;;) {
    const next = jobs.shift();
    if (next === undefined) {
      // Nothing more to read for now: what is gathered goes, so the main thread never waits on it.
      await send();
      if (jobs.length === 0) await woken();
      continue;
    }
    await chunkFile(next.job, next.path);
  }
}

void run();
