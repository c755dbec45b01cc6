import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { contents } from "../archive/extract/contents.js";
import { extract } from "../archive/extract/extract.js";
import type { ArchiveEntry } from "../archive/types.js";
import { StrongboxError } from "../errors.js";
import { limitRate } from "../io/rate-limit.js";
import type { ManagerContext } from "./context.js";
import { type Comparison, compareRestored, type DrillDifference } from "./drill-compare.js";
import { archiveKey } from "./keys.js";
import { limitersFor } from "./rate-limits.js";
import type { BackupRecord } from "./types.js";

/** Options of {@link BackupManager.drill}. */
export interface DrillOptions {
  /** Stops the drill; it rejects with `ABORTED` once the temporary folder is removed. */
  signal?: AbortSignal;
  /**
   * Where the temporary folder is made (default: the system's temp folder). It must not lie in the
   * server's folder: a drill never touches it.
   */
  tempDir?: string;
  /**
   * Called with the folder the backup was restored into, before it is compared with the listing (to
   * look at what a restore gives, or in tests to change it). The folder is removed afterwards whatever
   * happens.
   */
  onRestored?: (folder: string) => void | Promise<void>;
}

/** What a drill found: the comparison's counts, and whether it passed. */
export interface DrillReport extends Comparison {
  server: string;
  /** The backup's uuid. */
  backup: string;
  name: string;
  /** Whether every entry of the listing was restored as listed, and nothing else. */
  passed: boolean;
  /** What differs, in the listing's order then the restored folder's (at most {@link MAX_DIFFERENCES}). */
  differences: DrillDifference[];
  /** Differences found beyond those listed. */
  moreDifferences: number;
}

/** Most differences a report lists; a drill of a badly broken backup does not grow without bound. */
export const MAX_DIFFERENCES = 100;

/**
 * Restores a successful backup into a temporary folder with the one safe extract (the checksum verified
 * first), then compares what it restored with the archive's listing, read again from the storage with the
 * sha256 of each regular file computed from the archive stream. The temporary folder is removed whatever
 * happens; the server's folder is never read nor written.
 */
export async function drillBackup(
  context: ManagerContext,
  record: BackupRecord,
  options: DrillOptions,
): Promise<DrillReport> {
  const { signal } = options;
  const base = await mkdtemp(join(await tempParent(context, record, options.tempDir), "strongbox-drill-"));
  try {
    const folder = join(base, "restored");
    await mkdir(folder);
    const source = await context.storage.get(
      archiveKey(record.server, record.uuid),
      signal ? { signal } : {},
    );
    try {
      await extract(source, folder, {
        mode: "merge",
        expectedChecksum: record.checksum ?? undefined,
        workers: context.workers,
        signal,
        writeLimiters: limitersFor("write", context.limiters, undefined),
      });
    } finally {
      source.destroy();
    }
    await options.onRestored?.(folder);
    const found = await compareRestored(folder, listing(context, record, signal));
    const { differences, ...counts } = found;
    return {
      server: record.server,
      backup: record.uuid,
      name: record.name,
      passed: differences.length === 0,
      ...counts,
      differences: differences.slice(0, MAX_DIFFERENCES),
      moreDifferences: Math.max(0, differences.length - MAX_DIFFERENCES),
    };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

/** The archive's entries, read again from the storage (under the `read` limit), files with their sha256. */
async function* listing(
  context: ManagerContext,
  record: BackupRecord,
  signal: AbortSignal | undefined,
): AsyncGenerator<ArchiveEntry> {
  const source = await context.storage.get(archiveKey(record.server, record.uuid), signal ? { signal } : {});
  try {
    const limited = limitRate(source, limitersFor("read", context.limiters, undefined), signal);
    yield* contents(limited, { hashFiles: true, ...(signal ? { signal } : {}) });
  } finally {
    source.destroy();
  }
}

/**
 * The folder to make the temporary folder in; `INVALID_INPUT` when it lies in the server's folder. A
 * manager that knows no server folder (`serverRoot` throws, as a command working on the storage alone)
 * has none to protect.
 */
async function tempParent(
  context: ManagerContext,
  record: BackupRecord,
  tempDir: string | undefined,
): Promise<string> {
  const parent = resolve(tempDir ?? tmpdir());
  let root: string;
  try {
    root = await context.serverRoot(record.server);
  } catch {
    return parent;
  }
  const server = resolve(root);
  const inside = relative(server, parent);
  if (inside === "" || (!inside.startsWith(`..${sep}`) && inside !== ".." && !inside.startsWith(sep))) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `A drill never writes into the server's folder; choose a temporary folder outside ${server}.`,
      { details: { server: record.server, tempDir: parent } },
    );
  }
  return parent;
}
