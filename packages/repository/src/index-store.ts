import { randomBytes } from "node:crypto";
import { ChunkIndex, type ChunkLocation } from "./chunk-index.js";
import { decodeIndexObject, encodeIndexObject } from "./index-object.js";
import { readAhead } from "./read-ahead.js";
import type { Repository, RepositoryLocation } from "./repository.js";
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
 * Every index object loaded into one {@link ChunkIndex}, compacted, for the caller to add to. A chunk listed
 * twice (a prune that stopped between writing its new index and removing the old ones) keeps one location;
 * both are in packs that still exist, since packs go last. When the repository keeps its index
 * ({@link RepositoryLocation.keepIndex}), only the objects listed since the last load are read, and the
 * caller gets a copy: what it adds (a backup's new chunks, indexed or not) never reaches the kept index.
 * @throws StrongboxError `INVALID_INPUT` naming a damaged index object.
 */
export async function loadIndex(repo: Repository): Promise<{ index: ChunkIndex; objects: string[] }> {
  if (!repo.keepsIndex) {
    const { index, objects } = await loadAll(repo, await listIndexObjects(repo));
    return { index, objects: [...objects] };
  }
  // One load at a time per handle, each starting from what the last one left once its copy is made; a load
  // that failed leaves nothing to start from.
  const loading = (kept.get(repo) ?? Promise.resolve(undefined)).then((last) => refreshKept(repo, last));
  const copy = loading.then(({ index, objects }) => ({ index: index.clone(), objects: [...objects].sort() }));
  kept.set(
    repo,
    copy.then(
      () => loading,
      () => undefined,
    ),
  );
  return copy;
}

/** The index objects loaded into an index, and their ids. */
interface LoadedIndex {
  index: ChunkIndex;
  objects: Set<string>;
}

/** Each repository handle's kept index, as its last load left it (undefined after a load failed). */
const kept = new WeakMap<Repository, Promise<LoadedIndex | undefined>>();

/**
 * The kept index brought up to the listing: the objects added since read into it, or, once an object it
 * holds is no longer listed, every object read into a new one. Sound because index objects never change
 * once written and a prune deletes a pack only after every index object naming it: each object still
 * listed (under the caller's lock) names packs that still exist.
 */
async function refreshKept(repo: Repository, last: LoadedIndex | undefined): Promise<LoadedIndex> {
  const listed = await listIndexObjects(repo);
  const listedSet = new Set(listed);
  if (last && [...last.objects].every((id) => listedSet.has(id))) {
    return loadObjects(
      repo,
      last.index,
      last.objects,
      listed.filter((id) => !last.objects.has(id)),
    );
  }
  return loadAll(repo, listed);
}

/** Index objects `ids` read into a new index, compacted. */
async function loadAll(repo: Repository, ids: string[]): Promise<LoadedIndex> {
  const loaded = await loadObjects(repo, new ChunkIndex(), new Set(), ids);
  loaded.index.compact();
  return loaded;
}

/** Reads index objects `ids` into `index`, adding each one read to `objects` (one gone meanwhile is skipped). */
async function loadObjects(
  repo: Repository,
  index: ChunkIndex,
  objects: Set<string>,
  ids: string[],
): Promise<LoadedIndex> {
  // Read eight at a time (every backup adds one until a prune merges them), decoded in order.
  const read = async (id: string) =>
    [id, await readObject(repo, `${indexFolder(repo)}${id}`, `index ${id}`)] as const;
  for await (const [id, bytes] of readAhead(ids, read)) {
    if (!bytes) continue;
    decodeIndexObject(bytes, index, id);
    objects.add(id);
  }
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
