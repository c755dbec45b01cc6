import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { abortError, isStrongboxError, StrongboxError } from "../errors.js";
import { limitRate } from "../io/rate-limit.js";
import { activityEvent, type ManagerContext } from "./context.js";
import { archiveKey } from "./keys.js";
import { createProgressReporter } from "./progress.js";
import { limitersFor } from "./rate-limits.js";
import { formatTimestamp } from "./records.js";
import type { Actor, BackupRecord } from "./types.js";

/**
 * Reads a successful backup's archive back from the storage (streaming, through the manager's `read`
 * limit) and checks its sha256 and size against the record. The outcome (`verified_at`, `verification`,
 * `verification_error`) is written in the server's record order onto the record as it is then, so a lock
 * set meanwhile is kept and a backup deleted meanwhile stays deleted (`NOT_FOUND`). Emits
 * `server:backup.verify` or `server:backup.verify-fail`. A storage that cannot be read (other than a
 * missing archive) or a cancel throws and records nothing: neither proves the archive damaged.
 */
export async function verifyBackup(
  context: ManagerContext,
  record: BackupRecord,
  actor: Actor | undefined,
  signal: AbortSignal | undefined,
): Promise<BackupRecord> {
  const problem = await checkArchive(context, record, signal);
  const verifiedAt = formatTimestamp(context.now());
  const updated = await context.order.run(record.server, async () => {
    const latest = await context.catalog.get(record.server, record.uuid);
    if (latest?.checksum !== record.checksum) throw goneMeanwhile(record);
    const { verification_error: _previous, ...rest } = latest;
    const next: BackupRecord =
      problem === undefined
        ? { ...rest, verified_at: verifiedAt, verification: "passed" }
        : { ...rest, verified_at: verifiedAt, verification: "failed", verification_error: problem };
    await context.catalog.put(next);
    return next;
  });
  context.emit(
    problem === undefined
      ? activityEvent(context, "server:backup.verify", updated, actor, {
          name: updated.name,
          bytes: updated.bytes,
          checksum: updated.checksum ?? "",
        })
      : activityEvent(context, "server:backup.verify-fail", updated, actor, {
          name: updated.name,
          error: problem,
        }),
  );
  return updated;
}

/** Streams the archive once through sha256; returns what is wrong with it, or `undefined` when it matches. */
async function checkArchive(
  context: ManagerContext,
  record: BackupRecord,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const archive = await openArchive(context, record, signal);
  if (!archive) return `The archive of backup ${record.uuid} is missing from the storage.`;
  const progress = createProgressReporter(context.onProgress, {
    server: record.server,
    backup: record.uuid,
    operation: "verify",
  });
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of limitRate(archive, limitersFor("read", context.limiters, undefined), signal)) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      progress.update({ bytes, files: 0, totalBytes: record.bytes });
    }
  } catch (error) {
    if (signal?.aborted) throw abortError(signal, "The verification");
    throw error;
  } finally {
    archive.destroy();
  }
  progress.flush();
  const checksum = `sha256:${hash.digest("hex")}`;
  if (checksum === record.checksum && bytes === record.bytes) return undefined;
  return `Backup ${record.uuid} is damaged: its archive (${bytes} bytes, ${checksum}) does not match its record (${record.bytes} bytes, ${record.checksum}).`;
}

/** The archive's stream, or `undefined` when the storage no longer has it. */
async function openArchive(
  context: ManagerContext,
  record: BackupRecord,
  signal: AbortSignal | undefined,
): Promise<Readable | undefined> {
  try {
    return await context.storage.get(archiveKey(record.server, record.uuid), signal ? { signal } : {});
  } catch (error) {
    if (isStrongboxError(error, "NOT_FOUND")) return undefined;
    if (signal?.aborted) throw abortError(signal, "The verification");
    throw error;
  }
}

/** `NOT_FOUND`: the backup was deleted (or replaced) while its archive was read; nothing is recorded. */
function goneMeanwhile(record: BackupRecord): StrongboxError {
  return new StrongboxError(
    "NOT_FOUND",
    `Backup ${record.uuid} of server ${record.server} was deleted while it was being verified; nothing was recorded.`,
    { details: { server: record.server, backup: record.uuid } },
  );
}
