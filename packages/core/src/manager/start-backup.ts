import { randomUUID } from "node:crypto";
import { resolvePackInput } from "../archive/pack/pack-input.js";
import { throwIfAborted } from "../errors.js";
import type { CreateBackupOptions } from "./api.js";
import { activityEvent, enforce, type ManagerContext } from "./context.js";
import { backupName, ignoredFiles } from "./inputs.js";
import { stillRunning } from "./manager-errors.js";
import { checkRateLimit } from "./rate-limits.js";
import { keepRecord } from "./record-keeper.js";
import { formatTimestamp } from "./records.js";
import { removeBackup } from "./remove.js";
import { runBackup } from "./run-backup.js";
import type { ServerRecords } from "./server-records.js";
import type { ServerSlots } from "./slots.js";
import { archiveRatio } from "./space.js";
import type { BackupRecord } from "./types.js";

/**
 * Checks the request, takes a place for the server, then in the server's record order asks the policy,
 * checks the folder, rotates out what the policy names (only once nothing can refuse any more) and stores
 * the in-progress record. The backup then waits in the manager's queue and runs in the background; its
 * record is refreshed meanwhile, so no other process takes it for crashed. Resolves with that record;
 * anything refused before it is stored leaves nothing behind.
 */
export async function startBackup(
  context: ManagerContext,
  slots: ServerSlots,
  records: ServerRecords,
  server: string,
  input: CreateBackupOptions,
): Promise<BackupRecord> {
  const name = backupName(input.name, context.now());
  const ignored = ignoredFiles(input.ignored);
  const { actor } = input;
  const locked = input.locked ?? false;
  checkRateLimit(input.rateLimit);
  throwIfAborted(input.signal, "The backup");
  const slot = slots.reserve(server, "backup", randomUUID());
  try {
    const { record, root, backups } = await context.order.run(server, async () => {
      const backups = await records.settled(server);
      const scheduled = input.scheduled ?? false;
      const decision = context.policy.create?.({
        server,
        actor,
        now: context.now(),
        backups,
        locked,
        scheduled,
      });
      enforce(decision);
      const rotate = (decision?.ok && decision.rotate) || [];
      const running = backups.find((candidate) => candidate.completed_at === null);
      // Rotation deletes a backup to make room for this one: never while another may still fail.
      if (rotate.length > 0 && running) {
        throw stillRunning(
          running,
          `Server ${server} has a backup in progress; a backup that rotates out an old one waits until it has finished.`,
        );
      }
      const root = await context.serverRoot(server);
      // The folder and the rules are checked now, before a rotation deletes anything.
      await resolvePackInput(root, { ignore: ignored }, []);
      for (const uuid of rotate) {
        const old = backups.find((candidate) => candidate.uuid === uuid);
        if (old) await removeBackup(context, old, actor);
      }
      const created = formatTimestamp(context.now());
      const record: BackupRecord = {
        uuid: slot.backup,
        server,
        name,
        ignored_files: ignored,
        checksum: null,
        bytes: 0,
        is_successful: false,
        is_locked: locked,
        created_at: created,
        completed_at: null,
        disk: context.storage.name,
        owner: { host: context.host, pid: process.pid, heartbeat_at: created },
      };
      await context.catalog.put(record);
      return { record, root, backups };
    });
    context.emit(activityEvent(context, "server:backup.start", record, actor, { name, locked }));
    const keeper = keepRecord(context.catalog, record, {
      heartbeatMs: context.heartbeatMs,
      now: context.now,
      onRefreshError: (error) =>
        context.onWarning({
          server,
          backup: record.uuid,
          code: "HEARTBEAT_FAILED",
          message: `The running backup's record could not be refreshed: ${(error as Error).message}`,
        }),
    });
    slot.keeper = keeper;
    const job = {
      keeper,
      root,
      ignore: ignored,
      actor,
      signal: slot.signal(input.signal),
      ratio: archiveRatio(backups),
      rateLimit: input.rateLimit,
      recorded: () => {
        slot.finishing = true;
      },
    };
    slot.result = context.queue
      .run(server, job.signal, () => runBackup(context, job))
      .finally(() => slot.release());
    slot.result.then(context.backupEnded, () => {});
    return { ...record };
  } catch (error) {
    slot.release();
    throw error;
  }
}
