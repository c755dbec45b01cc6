// Entry point of a deflate worker thread: deflates the blocks it is sent, one at a time, synchronously.
import { parentPort } from "node:worker_threads";
import { deflateBlock } from "./deflate-block.js";
import type { DeflateReply, DeflateRequest } from "./deflate-pool.js";

const port = parentPort!;

port.on("message", (request: DeflateRequest) => {
  let reply: DeflateReply;
  try {
    const block = new Uint8Array(request.buffer, request.offset, request.length);
    const deflated = deflateBlock(block, request.options);
    // Handed over with its memory, so it never waits for this thread's garbage collector; a small one
    // may be a slice of Node's shared pool, which must not be moved, and is copied first.
    const output = deflated.length > Buffer.poolSize ? deflated : new Uint8Array(deflated);
    reply = { id: request.id, output };
    port.postMessage(reply, [output.buffer as ArrayBuffer]);
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
});
