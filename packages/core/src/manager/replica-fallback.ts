import { createHash } from "node:crypto";
import { isStrongboxError } from "../errors.js";
import type { StorageAdapter } from "../storage/types.js";
import type { ManagerContext } from "./context.js";
import { archiveKey } from "./keys.js";
import type { BackupRecord, ReplicaSource } from "./types.js";

/** The storage a download or restore reads a backup from, and, for the replica, why. */
export type ArchiveSource = ReplicaSource & { storage: StorageAdapter };

const MISSING = "the archive is missing from the primary storage";
const DAMAGED = "the primary copy does not match its checksum";

/**
 * Why the primary copy of `record` cannot serve it, once reading it failed with `error`: missing, or
 * damaged (a checksum mismatch, or any other failure of an archive whose bytes, read again, do not match
 * the record). `undefined` when the failure lies elsewhere (an abort, a full disk, an archive that is
 * fine), or when the primary cannot even be asked: the replica is not the answer then.
 */
export async function primaryDamage(
  context: ManagerContext,
  record: BackupRecord,
  error: unknown,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (signal.aborted || isStrongboxError(error, "INSUFFICIENT_SPACE")) return undefined;
  const key = archiveKey(record.server, record.uuid);
  try {
    if (!(await context.storage.stat(key))) return MISSING;
    if (isStrongboxError(error, "CHECKSUM_MISMATCH")) return DAMAGED;
    const digest = await digestObject(context.storage, key, signal);
    return digest.checksum === record.checksum && digest.bytes === record.bytes ? undefined : DAMAGED;
  } catch {
    return undefined;
  }
}

/**
 * Where a download link of `record` should point: the primary, or the replica when the primary's archive
 * is missing or not of the recorded size and the replica's is (a link cannot be hashed before it is
 * handed out; the size is what a stat can tell).
 */
export async function downloadSource(context: ManagerContext, record: BackupRecord): Promise<ArchiveSource> {
  const primary = { storage: context.storage };
  const replica = context.replica?.storage;
  if (!replica?.downloadUrl) return primary;
  const key = archiveKey(record.server, record.uuid);
  const info = await context.storage.stat(key);
  if (info?.size === record.bytes) return primary;
  const copy = await replica.stat(key).catch(() => undefined);
  if (copy?.size !== record.bytes) return primary;
  const reason = info ? "the primary copy is not of the size its record gives" : MISSING;
  return { storage: replica, source: "replica", reason };
}

/** `sha256:<hex>` and size of a stored object, streamed. */
async function digestObject(
  storage: StorageAdapter,
  key: string,
  signal: AbortSignal,
): Promise<{ checksum: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of await storage.get(key, { signal })) {
    hash.update(chunk as Uint8Array);
    bytes += (chunk as Uint8Array).byteLength;
  }
  return { checksum: `sha256:${hash.digest("hex")}`, bytes };
}
