import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  abortError,
  isStrongboxError,
  type PutOptions,
  StrongboxError,
  throwIfAborted,
} from "@strongbox/core/parts";
import { tempNameFor } from "./temp-files.js";

/**
 * Writes `body` to `folder/name` so the file appears only once complete: stream into a temp file beside
 * it, fsync it, rename it over the name, fsync the folder. On any failure the temp file is removed and a
 * previous file of that name stays as it was. Resolves with the bytes written.
 */
export async function writeAtomically(
  folder: string,
  name: string,
  body: Readable | AsyncIterable<Uint8Array>,
  { signal, onProgress }: PutOptions = {},
): Promise<number> {
  throwIfAborted(signal, "The upload");
  const temp = join(folder, tempNameFor(name));
  let size = 0;
  try {
    const file = await open(temp, "wx", 0o600);
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        onProgress?.(size);
        done(null, chunk);
      },
    });
    // The write stream owns the handle: `flush` fsyncs it before closing, and the pipeline settles only
    // once it is closed, so the bytes are on disk before the rename.
    await pipeline(body, counter, file.createWriteStream({ flush: true }), signal ? { signal } : {});
    throwIfAborted(signal, "The upload");
    await rename(temp, join(folder, name));
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw storeError(error, signal, join(folder, name));
  }
  await syncFolder(folder);
  return size;
}

/** Makes a rename durable: the folder's entry must reach the disk too, or a crash may forget it. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, "r");
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems cannot fsync a folder; the file itself is already durable.
    if ((error as NodeJS.ErrnoException).code !== "EINVAL") throw error;
  } finally {
    await handle.close();
  }
}

function storeError(error: unknown, signal: AbortSignal | undefined, path: string): unknown {
  if (signal?.aborted) return abortError(signal, "The upload");
  if (isStrongboxError(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new StrongboxError("INSUFFICIENT_SPACE", "The storage disk is full; free space and try again.", {
      cause: error,
      details: { path },
    });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new StrongboxError("STORAGE_ERROR", `Storing the object failed: ${reason}`, {
    cause: error,
    details: { path },
  });
}
