import { contents } from "../archive/extract/contents.js";
import { resolvePackInput } from "../archive/pack/pack-input.js";
import { isStrongboxError, StrongboxError } from "../errors.js";
import { ensureSpace, formatBytes, insufficientSpace, usedSpace } from "../io/disk-space.js";
import { measureTree, type TreeSize } from "../io/source-size.js";
import type { ManagerContext } from "./context.js";
import { archiveKey } from "./keys.js";
import { backupStatus } from "./records.js";
import type { BackupRecord } from "./types.js";

/** On average a file wastes half of a 4 KiB filesystem block past its last byte. */
const SLACK_PER_FILE = 2048;

/**
 * The archive-to-source size ratio of the server's newest successful backup that recorded its source
 * size, to turn a source size into an archive size; 1 (no compression) when there is none.
 */
export function archiveRatio(backups: readonly BackupRecord[]): number {
  const previous = backups.find((record) => backupStatus(record) === "successful" && record.source_bytes);
  return previous?.source_bytes ? previous.bytes / previous.source_bytes : 1;
}

/** A backup about to run: what it reads, and the record it fills. */
export interface SpaceCheckedBackup {
  record: BackupRecord;
  root: string;
  ignore: string | readonly string[];
  /** From {@link archiveRatio}. */
  ratio: number;
  signal: AbortSignal;
}

/**
 * Before a backup into a storage on this machine (one that reports `freeSpace`): unless the free space
 * exceeds everything stored on the source's volume, measures the source as pack will read it (ignore
 * rules and the root's ignore file applied), estimates the archive from it and throws
 * `INSUFFICIENT_SPACE` when the storage's volume has less free. Returns the source's size when it was
 * measured; a remote storage is never measured.
 */
export async function checkBackupSpace(
  context: ManagerContext,
  backup: SpaceCheckedBackup,
): Promise<TreeSize | undefined> {
  const { storage } = context;
  if (!storage.freeSpace) return undefined;
  const input = await resolvePackInput(backup.root, { ignore: backup.ignore }, []);
  const free = await storage.freeSpace();
  // When all the data of the source's volume would fit, so does the backup: no need to walk it.
  if (free >= (await usedSpace(input.root))) return undefined;
  const size = await measureTree(input.root, input.ignoreRules, backup.signal);
  const needed = Math.ceil(size.bytes * backup.ratio);
  if (free < needed) {
    const { record } = backup;
    throw insufficientSpace(
      `backup "${record.name}" of server ${record.server}`,
      `the volume of the ${storage.name} storage`,
      needed,
      free,
      { server: record.server, sourceBytes: size.bytes },
    );
  }
  return size;
}

/**
 * Bytes a restore of `record` needs on the target's volume, when its record says: its whole content
 * (plus block slack), in both modes, since everything is staged inside the target before anything old
 * is removed. `undefined` for records made before sizes were recorded.
 */
export function recordedRestoreSize(record: BackupRecord): number | undefined {
  if (record.source_bytes === undefined) return undefined;
  return record.source_bytes + (record.files ?? 0) * SLACK_PER_FILE;
}

/** {@link recordedRestoreSize} for an older record, read from its archive's entries (file data is skipped). */
export async function scannedRestoreSize(
  context: ManagerContext,
  record: BackupRecord,
  signal: AbortSignal,
): Promise<number> {
  const source = await context.storage.get(archiveKey(record.server, record.uuid), { signal });
  let bytes = 0;
  try {
    for await (const entry of contents(source, { signal })) {
      if (entry.type === "file") bytes += entry.size + SLACK_PER_FILE;
    }
  } finally {
    source.destroy();
  }
  return bytes;
}

/** Throws `INSUFFICIENT_SPACE` when the volume of `root` has less than `needed` bytes free for `record`. */
export async function checkRestoreSpace(root: string, record: BackupRecord, needed: number): Promise<void> {
  await ensureSpace(root, needed, `restoring backup "${record.name}"`);
}

/**
 * An `INSUFFICIENT_SPACE` that the filesystem raised mid-way (after a pre-check passed, or where none
 * could run), rewritten with the figures a person needs: how much the operation needs (when estimated)
 * and how much is free now. Other errors, and ones that already carry the figures, pass through.
 */
export async function explainFullDisk(
  error: unknown,
  what: string,
  where: string,
  needed: number | undefined,
  freeNow: () => Promise<number | undefined>,
): Promise<unknown> {
  if (!isFullDisk(error)) return error;
  const details = isStrongboxError(error) ? error.details : undefined;
  if (details?.needed !== undefined) return error;
  const free = await freeNow().catch(() => undefined);
  if (free === undefined) return error;
  if (needed !== undefined && needed > free) {
    return Object.assign(insufficientSpace(what, where, needed, free, details), { cause: error });
  }
  return new StrongboxError(
    "INSUFFICIENT_SPACE",
    `Not enough disk space for ${what}: ${where} filled up while it ran and has ${formatBytes(free)} free now` +
      `${needed === undefined ? "" : ` (about ${formatBytes(needed)} was expected)`}. Free up space or use another disk.`,
    { cause: error, details: { ...details, free, ...(needed === undefined ? {} : { needed }) } },
  );
}

/** A full disk, as core reports it or as the filesystem raised it through an adapter. */
function isFullDisk(error: unknown): boolean {
  if (isStrongboxError(error)) return error.code === "INSUFFICIENT_SPACE";
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}
