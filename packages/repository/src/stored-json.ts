import { Readable } from "node:stream";
import { isStrongboxError, type StorageAdapter, StrongboxError } from "@strongbox/core/parts";

/** Config and key objects are a few hundred bytes; a larger one is not ours and is not read whole. */
const MAX_SMALL_OBJECT = 64 * 1024;

/**
 * A small object's bytes, or `undefined` when it does not exist.
 * @throws StrongboxError `INVALID_INPUT` when it is too large to be the `what` it should be.
 */
export async function readSmallObject(
  storage: StorageAdapter,
  key: string,
  what: string,
): Promise<Buffer | undefined> {
  const info = await storage.stat(key);
  if (!info) return undefined;
  if (info.size > MAX_SMALL_OBJECT) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `"${key}" holds ${info.size} bytes: too large to be ${what}. Is the prefix the repository's?`,
      { details: { key, size: info.size } },
    );
  }
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.get(key)) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  } catch (error) {
    if (isStrongboxError(error, "NOT_FOUND")) return undefined;
    throw error;
  }
}

/** Stores `bytes` under `key`. */
export async function writeSmallObject(
  storage: StorageAdapter,
  key: string,
  bytes: Uint8Array,
): Promise<void> {
  await storage.put(key, Readable.from([Buffer.from(bytes)]));
}

/** Parses JSON, or `undefined` when the bytes are not a JSON object. */
export function parseObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
