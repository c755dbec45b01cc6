// Entry point of a deflate worker thread: deflates the blocks it is sent, one at a time, synchronously.
import { parentPort } from "node:worker_threads";
import type { DeflateReply, DeflateRequest } from "../archive-workers.js";
import { lowerThreadPriority } from "../thread-priority.js";
import { deflateBlock, movable } from "./deflate-block.js";

lowerThreadPriority();
const port = parentPort!;

port.on("message", (request: DeflateRequest) => {
  let reply: DeflateReply;
  try {
    const block = new Uint8Array(request.buffer, request.offset, request.length);
    // Handed over with its memory, so it never waits for this thread's garbage collector.
    const output = movable(deflateBlock(block, request.options));
    reply = { id: request.id, output };
    port.postMessage(reply, [output.buffer as ArrayBuffer]);
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
});
