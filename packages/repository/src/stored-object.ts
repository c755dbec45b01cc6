import { Readable } from "node:stream";
import { isStrongboxError } from "@strongbox/core/parts";
import type { Repository } from "./repository.js";

/**
 * A stored object's plain bytes (opened with `context`, which sealing bound to it), or `undefined` when
 * it does not exist.
 * @throws StrongboxError `INVALID_INPUT` when it fails authentication.
 */
export async function readObject(
  repo: Repository,
  key: string,
  context: string,
): Promise<Buffer | undefined> {
  try {
    const parts: Buffer[] = [];
    for await (const part of await repo.storage.get(key)) parts.push(Buffer.from(part as Uint8Array));
    return repo.openObject(Buffer.concat(parts), context);
  } catch (error) {
    if (isStrongboxError(error, "NOT_FOUND")) return undefined;
    throw error;
  }
}

/** Stores `plain` under `key`, sealed with `context` when the repository encrypts. */
export async function writeObject(
  repo: Repository,
  key: string,
  context: string,
  plain: Uint8Array,
): Promise<void> {
  await repo.storage.put(key, Readable.from([repo.sealObject(plain, context)]));
}
