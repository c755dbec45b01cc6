import { randomBytes } from "node:crypto";
import { ChunkIndex, type ChunkLocation } from "./chunk-index.js";
import { decodeIndexObject, encodeIndexObject } from "./index-object.js";
import { readAhead } from "./read-ahead.js";
import type { Repository } from "./repository.js";
import { readObject, writeObject } from "./stored-object.js";

/** The folder of index objects under a repository's prefix. */
export function indexFolder(repo: Repository): string {
  return `${repo.prefix}index/`;
}

/** The ids of every index object. */
export async function listIndexObjects(repo: Repository): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of repo.storage.list(indexFolder(repo)))
    ids.push(info.key.slice(indexFolder(repo).length));
  return ids.sort();
}

/**
 * Every index object loaded into one {@link ChunkIndex}, compacted. A chunk listed twice (a prune that
 * stopped between writing its new index and removing the old ones) keeps its first location; both are
 * in packs that still exist, since packs go last.
 * @throws StrongboxError `INVALID_INPUT` naming a damaged index object.
 */
export async function loadIndex(repo: Repository): Promise<{ index: ChunkIndex; objects: string[] }> {
  const index = new ChunkIndex();
  const objects = await listIndexObjects(repo);
  // Read eight at a time (every backup adds one until a prune merges them), decoded in order.
  const read = async (id: string) =>
    [id, await readObject(repo, `${indexFolder(repo)}${id}`, `index ${id}`)] as const;
  for await (const [id, bytes] of readAhead(objects, read)) if (bytes) decodeIndexObject(bytes, index, id);
  index.compact();
  return { index, objects };
}

/** Stores an index object listing `entries` (whose packs are stored already); returns its id. */
export async function writeIndexObject(
  repo: Repository,
  entries: Iterable<readonly [Uint8Array, ChunkLocation]>,
): Promise<string> {
  const id = randomBytes(16).toString("hex");
  await writeObject(repo, `${indexFolder(repo)}${id}`, `index ${id}`, encodeIndexObject(entries));
  return id;
}
