import { createHash } from "node:crypto";
import { createReadStream, type Stats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import type { ArchiveEntry } from "../archive/types.js";
import { decodePath, fsPath } from "../path-bytes.js";

/** One way a restored folder differs from its archive's listing. */
export interface DrillDifference {
  /** The entry's path, relative to the folder, `/`-separated (bytes that are not UTF-8 as `decodePath` gives them). */
  path: string;
  /**
   * `missing`: listed, not restored. `unexpected`: restored, not listed. `type`: restored as another kind
   * (file, directory, symlink). `size`, `content` (the sha256 of the file), `link` (a symlink's target, or
   * a hard link that does not share its file): restored, but not as listed.
   */
  problem: "missing" | "unexpected" | "type" | "size" | "content" | "link";
  /** What the listing says, for `type`, `size`, `content` and `link`. */
  expected?: string;
  /** What the folder holds. */
  actual?: string;
}

/** What {@link compareRestored} counted and found. */
export interface Comparison {
  /** Regular files compared (names, sizes and sha256 of their content). */
  files: number;
  directories: number;
  /** Symbolic links (their targets) and hard links (the file they share) compared. */
  links: number;
  /** Bytes of file content compared. */
  bytes: number;
  /** Entries a restore leaves out by design (fifos, devices), not compared. */
  skipped: number;
  /** What differs, in the listing's order then the restored folder's. */
  differences: DrillDifference[];
}

const KIND_OF: Record<Exclude<ArchiveEntry["type"], "other">, string> = {
  file: "file",
  hardlink: "file",
  directory: "directory",
  symlink: "symlink",
};

/**
 * Compares the folder a backup was restored into with the archive's listing: every listed entry must be
 * there with its kind, a file with its size and sha256, a link with its target; nothing else may be there
 * (but the folders that hold listed entries). When a path is listed twice the last entry counts, as
 * extract writes it last. Memory grows with the number of entries (their names and hashes), not their size.
 */
export async function compareRestored(
  folder: string,
  entries: AsyncIterable<ArchiveEntry>,
): Promise<Comparison> {
  const expected = new Map<string, ArchiveEntry>();
  const holders = new Set<string>();
  let skipped = 0;
  for await (const entry of entries) {
    const path = entry.path.replace(/^\/+/, "");
    if (path === "." || path === "") continue;
    if (entry.type === "other") {
      skipped++;
      continue;
    }
    expected.set(path, entry);
    for (let cut = path.lastIndexOf("/"); cut > 0; cut = path.lastIndexOf("/", cut - 1)) {
      holders.add(path.slice(0, cut));
    }
  }
  const result: Comparison = { files: 0, directories: 0, links: 0, bytes: 0, skipped, differences: [] };
  for (const [path, entry] of expected) await compareEntry(folder, path, entry, result);
  for await (const path of walk(folder, "")) {
    if (!expected.has(path) && !holders.has(path)) result.differences.push({ path, problem: "unexpected" });
  }
  return result;
}

async function compareEntry(folder: string, path: string, entry: ArchiveEntry, result: Comparison) {
  const differ = (problem: DrillDifference["problem"], expected?: string, actual?: string) =>
    result.differences.push({ path, problem, ...(expected === undefined ? {} : { expected, actual }) });
  const target = join(folder, path);
  const stats = await lstatOrUndefined(target);
  if (!stats) return differ("missing");
  const kind = KIND_OF[entry.type as keyof typeof KIND_OF];
  if (kindOf(stats) !== kind) return differ("type", kind, kindOf(stats));
  if (entry.type === "directory") {
    result.directories++;
    return;
  }
  if (entry.type === "symlink") {
    result.links++;
    const link = decodePath(await readlink(target, { encoding: "buffer" }));
    if (link !== entry.linkTarget) differ("link", entry.linkTarget ?? "", link);
    return;
  }
  if (entry.type === "hardlink") {
    result.links++;
    const shared = await lstatOrUndefined(join(folder, (entry.linkTarget ?? "").replace(/^\/+/, "")));
    if (shared?.ino !== stats.ino) differ("link", entry.linkTarget ?? "", "a file of its own");
    return;
  }
  result.files++;
  result.bytes += stats.size;
  if (stats.size !== entry.size) return differ("size", String(entry.size), String(stats.size));
  const sha256 = await hashFile(target);
  if (sha256 !== entry.sha256) differ("content", `sha256:${entry.sha256}`, `sha256:${sha256}`);
}

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isDirectory()) return "directory";
  return stats.isFile() ? "file" : "other";
}

/** Joins a folder and a `/`-separated decoded path into a path `fs` takes (bytes when not UTF-8). */
function join(folder: string, path: string): string | Buffer {
  return fsPath(`${folder}/${path}`);
}

async function lstatOrUndefined(path: string | Buffer): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === "ENOENT" ||
      (error as NodeJS.ErrnoException).code === "ENOTDIR"
    ) {
      return undefined;
    }
    throw error;
  }
}

async function hashFile(path: string | Buffer): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Every path under `folder` (relative, `/`-separated, decoded), folders before what they hold. */
async function* walk(folder: string, prefix: string): AsyncGenerator<string> {
  const directory = prefix === "" ? folder : `${folder}/${prefix}`;
  for (const entry of await readdir(fsPath(directory), { withFileTypes: true, encoding: "buffer" })) {
    const path = prefix === "" ? decodePath(entry.name) : `${prefix}/${decodePath(entry.name)}`;
    yield path;
    if (entry.isDirectory()) yield* walk(folder, path);
  }
}
