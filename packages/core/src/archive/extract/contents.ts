import { createHash, type Hash } from "node:crypto";
import { abortError, throwIfAborted } from "../../errors.js";
import type { TarEntry, TarEntryKind, TarSink } from "../tar/tar-parse.js";
import { TarParser } from "../tar/tar-parse.js";
import type { ArchiveEntry, ArchiveSource } from "../types.js";
import { toExtractError } from "./extract-errors.js";
import { inflateArchive } from "./extract-inflate.js";

/** Options of {@link contents}. */
export interface ContentsOptions {
  /** Stops the listing; the iteration then rejects with code `ABORTED`. */
  signal?: AbortSignal;
  /**
   * Give each regular file its content's `sha256` (hex), computed from the archive stream as it is read
   * (a sparse file's holes count as zeros, as restored). Each entry then comes once its data was read.
   */
  hashFiles?: boolean;
}

const TYPE_BY_KIND: Record<TarEntryKind, ArchiveEntry["type"]> = {
  file: "file",
  directory: "directory",
  symlink: "symlink",
  hardlink: "hardlink",
  device: "other",
  fifo: "other",
  unsupported: "other",
};

/**
 * Lists a tar.gz archive's entries, in archive order, without extracting anything: entries stream out as
 * they are read, and file data is inflated and skipped, so memory stays flat. Paths are shown as stored,
 * minus a leading `./` and a directory's trailing `/` (a listing reports hostile names, extract refuses
 * them); a sparse file shows its real name and size. Rejects with `INVALID_INPUT` when the archive turns out corrupt or truncated, after the entries
 * read before that point.
 *
 * @example
 * ```ts
 * for await (const entry of contents(createReadStream("backup.tar.gz"))) console.log(entry.path);
 * ```
 */
export async function* contents(
  source: ArchiveSource,
  options: ContentsOptions = {},
): AsyncGenerator<ArchiveEntry> {
  throwIfAborted(options.signal, "The listing");
  const found: ArchiveEntry[] = [];
  const parser = new TarParser(options.hashFiles ? hashingSink(found) : listingSink(found));
  try {
    for await (const chunk of inflateArchive(source, { signal: options.signal })) {
      parser.push(chunk);
      yield* found.splice(0);
    }
    parser.end();
  } catch (error) {
    throw options.signal?.aborted ? abortError(options.signal, "The listing") : toExtractError(error, "");
  }
}

/** Lists each entry as soon as its header is read; data is skipped. */
function listingSink(found: ArchiveEntry[]): TarSink {
  return {
    onEntry: (entry) => found.push(toArchiveEntry(entry)),
    onData: () => {},
    onEntryEnd: () => {},
  };
}

// Holes of a sparse file are hashed from this block of zeros, never from one buffer the file's size.
const ZEROS = new Uint8Array(64 * 1024);

/** Lists each entry once its data was read, a regular file with the sha256 of its content. */
function hashingSink(found: ArchiveEntry[]): TarSink {
  let current: { entry: ArchiveEntry; hash: Hash | undefined; hashed: number } | undefined;
  const zeros = (upTo: number) => {
    if (!current?.hash) return;
    while (current.hashed < upTo) {
      const take = Math.min(ZEROS.byteLength, upTo - current.hashed);
      current.hash.update(ZEROS.subarray(0, take));
      current.hashed += take;
    }
  };
  return {
    onEntry(entry) {
      const listed = toArchiveEntry(entry);
      current = { entry: listed, hash: listed.type === "file" ? createHash("sha256") : undefined, hashed: 0 };
    },
    onData(chunk, position) {
      if (!current?.hash) return;
      zeros(position);
      current.hash.update(chunk);
      current.hashed += chunk.byteLength;
    },
    onEntryEnd() {
      if (!current) return;
      zeros(current.entry.size);
      if (current.hash) current.entry.sha256 = current.hash.digest("hex");
      found.push(current.entry);
      current = undefined;
    },
  };
}

function toArchiveEntry(entry: TarEntry): ArchiveEntry {
  const listed: ArchiveEntry = {
    path: entry.path.replace(/^(\.\/)+/, "") || ".",
    type: TYPE_BY_KIND[entry.kind],
    size: entry.kind === "file" ? entry.size : 0,
    mode: entry.mode & 0o7777,
    mtime: new Date(entry.mtime * 1000),
  };
  if (entry.linkTarget !== "") listed.linkTarget = entry.linkTarget;
  return listed;
}
