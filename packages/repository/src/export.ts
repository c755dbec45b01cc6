import { Readable } from "node:stream";
import { encodeTarHeader, StrongboxError, TAR_RECORD, tarEndLength, tarPadding } from "@strongbox/core/parts";
import type { ChunkIndex } from "./chunk-index.js";
import { ID_BYTES } from "./chunk-index.js";
import { readChunks } from "./chunk-reader.js";
import type { Repository } from "./repository.js";
import { readTree, type Snapshot } from "./snapshots.js";
import type { TreeEntry } from "./tree.js";

/** Options of {@link snapshotTar}. */
export interface SnapshotTarOptions {
  /** Only these paths (files, or folders with everything under them); only their chunks are read. */
  only?: readonly string[];
  signal?: AbortSignal | undefined;
  /** Sees the stored bytes of every read of chunk data (to count them). */
  onRead?: (bytes: number) => void;
}

const ZEROS = Buffer.alloc(20 * TAR_RECORD);

/**
 * A snapshot as a POSIX tar stream written with core's tar headers (gzip it for a `.tar.gz` any tar
 * reads). File data comes from the chunks, a few ranged reads ahead of the consumer.
 *
 * @throws (through the stream) StrongboxError `INVALID_INPUT` when a chunk is missing or damaged.
 */
export function snapshotTar(
  repo: Repository,
  index: ChunkIndex,
  snapshot: Snapshot,
  options: SnapshotTarOptions = {},
): Readable {
  const selected = selection(options.only);
  const { signal } = options;
  // Two passes over the tree in step: the first names the chunks to read ahead, the second writes.
  async function* wantedIds(): AsyncGenerator<Uint8Array> {
    for await (const entry of readTree(repo, index, snapshot, signal)) {
      if (!selected(entry.path)) continue;
      for (let at = 0; at < entry.chunks.length; at += ID_BYTES)
        yield entry.chunks.subarray(at, at + ID_BYTES);
    }
  }
  async function* entries(): AsyncGenerator<Buffer> {
    const chunks = readChunks(repo, index, wantedIds(), { signal, onRead: options.onRead });
    let written = 0;
    try {
      for await (const entry of readTree(repo, index, snapshot, signal)) {
        if (!selected(entry.path)) continue;
        const header = encodeTarHeader(headerOf(entry));
        written += header.length;
        yield header;
        if (entry.type !== "file") continue;
        let size = 0;
        for (let at = 0; at < entry.chunks.length; at += ID_BYTES) {
          const next = await chunks.next();
          if (next.done) throw new Error("the chunk reader ended early");
          size += next.value.length;
          yield next.value;
        }
        if (size !== entry.size) {
          throw new StrongboxError(
            "INVALID_INPUT",
            `"${entry.path}" in snapshot ${snapshot.id} has ${size} bytes of chunks where its size says ${entry.size}: the snapshot is damaged.`,
            { details: { snapshot: snapshot.id, path: entry.path } },
          );
        }
        const padding = tarPadding(size);
        written += size + padding;
        // The stream's pieces reach extract as they are: no empty ones.
        if (padding > 0) yield ZEROS.subarray(0, padding);
      }
      yield Buffer.alloc(tarEndLength(written));
    } finally {
      await chunks.return(undefined);
    }
  }
  return Readable.from(entries(), { objectMode: false });
}

function headerOf(entry: TreeEntry) {
  return {
    path: entry.type === "directory" ? `${entry.path}/` : entry.path,
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.type === "file" ? entry.size : 0,
    mtime: Number(entry.mtimeNs / 1_000_000_000n),
    ...(entry.linkTarget !== undefined ? { linkTarget: entry.linkTarget } : {}),
  };
}

/** Whether a path is selected: every path without `only`, else those equal to or under one of them. */
function selection(only: readonly string[] | undefined): (path: string) => boolean {
  if (only === undefined) return () => true;
  const wanted = only.map(normalizeSelected);
  return (path) => wanted.some((chosen) => path === chosen || path.startsWith(`${chosen}/`));
}

function normalizeSelected(path: string): string {
  const trimmed = typeof path === "string" ? path.replace(/^\.\//, "").replace(/\/+$/, "") : "";
  if (
    trimmed === "" ||
    trimmed.startsWith("/") ||
    trimmed.split("/").some((part) => part === ".." || part === "." || part === "")
  ) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `"${String(path)}" is not a path inside the snapshot: give relative paths without "..".`,
      { details: { path } },
    );
  }
  return trimmed;
}
