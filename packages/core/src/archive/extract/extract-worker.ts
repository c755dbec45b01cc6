// Entry point of the extract worker thread: feeds message-borne archive bytes to runExtractJob.
import { parentPort, workerData } from "node:worker_threads";
import { lowerThreadPriority } from "../thread-priority.js";
import { runExtractJob } from "./extract-job.js";
import { MessageInput } from "./extract-worker-input.js";
import {
  type ExtractWorkerData,
  type FromExtractWorker,
  serializeError,
  type ToExtractWorker,
} from "./extract-worker-protocol.js";
import { createWriteThrottle } from "./write-throttle.js";

lowerThreadPriority();
const port = parentPort;
if (!port) throw new Error("extract-worker must run in a worker thread.");
const post = (message: FromExtractWorker): void => port.postMessage(message);

const controller = new AbortController();
const { params, ring } = workerData as ExtractWorkerData;
const input = new MessageInput(ring);
const writes = createWriteThrottle((bytes) => post({ type: "throttle", bytes }));
port.on("message", (message: ToExtractWorker) => {
  if (message.type === "chunk") input.push(message.offset, message.length);
  else if (message.type === "end") input.end();
  else if (message.type === "grant") writes.grant(message.bytes);
  else {
    controller.abort();
    writes.stop();
    input.end();
  }
});

runExtractJob(input, params, {
  signal: controller.signal,
  onProgress: (progress) => post({ type: "progress", progress }),
  onWarning: (warning) => post({ type: "warning", warning }),
  onInputConsumed: (bytes) => post({ type: "ack", bytes }),
  ...(params.throttled ? { throttle: writes.throttle } : {}),
}).then(
  async (result) => {
    if (params.throttled) await writes.drain();
    post({ type: "done", result });
  },
  (error: unknown) => post({ type: "fail", error: serializeError(error) }),
);
