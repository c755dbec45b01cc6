import { createReadStream } from "node:fs";
import { contents } from "../../src/archive/extract/contents.js";
import { packToFile } from "../../src/archive/pack/pack-file.js";
import type { ArchiveEntry, ArchiveWarning, PackOptions, PackResult } from "../../src/archive/types.js";

/** Packs `source` into `archive`, collecting the warnings. */
export async function packCollecting(
  source: string,
  archive: string,
  options: PackOptions = {},
): Promise<{ archive: string; result: PackResult; warnings: ArchiveWarning[] }> {
  const warnings: ArchiveWarning[] = [];
  const result = await packToFile(source, archive, { ...options, onWarning: (w) => warnings.push(w) });
  return { archive, result, warnings };
}

/** Every entry `contents` lists for the archive file. */
export async function listEntries(archive: string): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  for await (const entry of contents(createReadStream(archive))) entries.push(entry);
  return entries;
}
