import { abortError, throwIfAborted } from "../../errors.js";
import type { TarEntry, TarEntryKind } from "../tar/tar-parse.js";
import { TarParser } from "../tar/tar-parse.js";
import type { ArchiveEntry, ArchiveSource } from "../types.js";
import { toExtractError } from "./extract-errors.js";
import { inflateArchive } from "./extract-inflate.js";

/** Options of {@link contents}. */
export interface ContentsOptions {
  /** Stops the listing; the iteration then rejects with code `ABORTED`. */
  signal?: AbortSignal;
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
  const parser = new TarParser({
    onEntry: (entry) => found.push(toArchiveEntry(entry)),
    onData: () => {},
    onEntryEnd: () => {},
  });
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
