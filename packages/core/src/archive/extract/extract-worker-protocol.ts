import { ERROR_CODES, type ErrorCode, StrongboxError } from "../../errors.js";
import type { ArchiveWarning, Progress } from "../types.js";
import type { ExtractJobParams, ExtractOutcome } from "./extract-job.js";

/** Messages the main thread sends to an extract worker. */
export type ToExtractWorker =
  /** The input ring's bytes `[offset, offset + length)` are the archive's next ones. */
  | { type: "chunk"; offset: number; length: number }
  | { type: "end" }
  /** Stop, clean up and fail (the main thread knows why). */
  | { type: "abort" }
  /** Inflated bytes the write rate limit let pass (answers `throttle`). */
  | { type: "grant"; bytes: number };

/** What an extract worker starts with. */
export interface ExtractWorkerData {
  params: ExtractJobParams;
  /** The input ring: memory shared with the main thread, which copies the archive's bytes into it. */
  ring: SharedArrayBuffer;
}

/** An error flattened to cross the thread boundary. */
export interface SerializedError {
  code: string | undefined;
  message: string;
  details: Record<string, unknown> | undefined;
  strongbox: boolean;
}

/** Messages an extract worker sends back. */
export type FromExtractWorker =
  /** Compressed bytes zlib has read, in order: their room in the input ring may be reused. */
  | { type: "ack"; bytes: number }
  | { type: "progress"; progress: Progress }
  | { type: "warning"; warning: ArchiveWarning }
  /** Inflated bytes about to be written, for the main thread's rate limiters. */
  | { type: "throttle"; bytes: number }
  | { type: "done"; result: ExtractOutcome }
  | { type: "fail"; error: SerializedError };

/** Flattens an error for `postMessage`, keeping a StrongboxError's code and details. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof StrongboxError) {
    return { code: error.code, message: error.message, details: error.details, strongbox: true };
  }
  const code = (error as { code?: unknown } | null)?.code;
  return {
    code: typeof code === "string" ? code : undefined,
    message: error instanceof Error ? error.message : String(error),
    details: undefined,
    strongbox: false,
  };
}

/** Rebuilds an error flattened by {@link serializeError}. */
export function deserializeError(error: SerializedError): Error {
  if (error.strongbox && (ERROR_CODES as readonly string[]).includes(error.code ?? "")) {
    return new StrongboxError(error.code as ErrorCode, error.message, { details: error.details });
  }
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
}
