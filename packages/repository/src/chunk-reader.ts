import { StrongboxError, throwIfAborted } from "@strongbox/core/parts";
import type { ChunkIndex, ChunkLocation } from "./chunk-index.js";
import { openBlob, packKey, readRange } from "./packs.js";
import type { Repository } from "./repository.js";

/** Options of {@link readChunks}. */
export interface ReadChunksOptions {
  /** Ranged reads in flight at once (default 4). */
  concurrency?: number;
  /** Neighbouring chunks of one pack are read together up to this many bytes (default 4 MiB). */
  maxReadBytes?: number;
  signal?: AbortSignal | undefined;
  /** Sees the stored bytes of every read (to count them). */
  onRead?: (bytes: number) => void;
}

interface Wanted {
  id: Uint8Array;
  location: ChunkLocation;
}

/**
 * The chunks named by `ids`, in their order: chunks stored side by side in a pack (as a file's chunks
 * are) come in one ranged read, and a few reads run ahead of the consumer, so a slow storage is not paid
 * once per chunk. Each chunk is opened and checked against its id.
 *
 * @throws StrongboxError `INVALID_INPUT` when a chunk is not in the index or is damaged; `NOT_FOUND` when
 *   its pack is gone.
 */
export async function* readChunks(
  repo: Repository,
  index: ChunkIndex,
  ids: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadChunksOptions = {},
): AsyncGenerator<Buffer> {
  const concurrency = options.concurrency ?? 4;
  const maxReadBytes = options.maxReadBytes ?? 4 * 1024 * 1024;
  const inFlight: Promise<Buffer[]>[] = [];
  let group: Wanted[] = [];
  const start = () => {
    const taken = group;
    group = [];
    const read = readGroup(repo, taken, options);
    // Rejections surface when the group's turn comes; until then they must not count as unhandled.
    read.catch(() => undefined);
    inFlight.push(read);
  };
  try {
    for await (const id of ids) {
      throwIfAborted(options.signal);
      const location = index.get(id);
      if (location === undefined) {
        throw new StrongboxError(
          "INVALID_INPUT",
          `Chunk ${Buffer.from(id).toString("hex")} is not in the repository's index: the repository is damaged (run check).`,
          { details: { chunk: Buffer.from(id).toString("hex") } },
        );
      }
      const last = group[group.length - 1]?.location;
      const adjacent =
        last !== undefined &&
        last.pack === location.pack &&
        last.offset + last.length === location.offset &&
        location.offset + location.length - group[0]!.location.offset <= maxReadBytes;
      if (last !== undefined && !adjacent) start();
      group.push({ id, location });
      while (inFlight.length > concurrency) yield* await inFlight.shift()!;
    }
    if (group.length > 0) start();
    while (inFlight.length > 0) yield* await inFlight.shift()!;
  } finally {
    // Stopped early: what is still in flight is dropped (its rejections are already handled).
    inFlight.length = 0;
  }
}

async function readGroup(repo: Repository, group: Wanted[], options: ReadChunksOptions): Promise<Buffer[]> {
  const first = group[0]!.location;
  const last = group[group.length - 1]!.location;
  const length = last.offset + last.length - first.offset;
  const stored = await readRange(repo.storage, packKey(repo.prefix, first.pack), first.offset, length);
  options.onRead?.(stored.length);
  const chunks: Buffer[] = [];
  for (const { id, location } of group) {
    const at = location.offset - first.offset;
    chunks.push(await openBlob(repo, id, location, stored.subarray(at, at + location.length)));
  }
  return chunks;
}
