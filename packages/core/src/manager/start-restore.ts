import { throwIfAborted } from "../errors.js";
import type { RestoreBackupOptions } from "./api.js";
import { activityEvent, enforce, type ManagerContext } from "./context.js";
import { restoreInputs } from "./inputs.js";
import { backupNotFound, notSuccessful } from "./manager-errors.js";
import { checkRateLimit } from "./rate-limits.js";
import { backupStatus } from "./records.js";
import { runRestore } from "./run-restore.js";
import type { ServerRecords } from "./server-records.js";
import type { ServerSlots, Slot } from "./slots.js";
import { checkRestoreSpace, recordedRestoreSize } from "./space.js";

/**
 * Checks the request, takes the server, asks the policy with the server's state, then queues the restore
 * in the manager's queue. Resolves once it is queued; `done` settles when it ends (and never goes
 * unhandled if nobody awaits it).
 */
export async function startRestore(
  context: ManagerContext,
  slots: ServerSlots,
  records: ServerRecords,
  server: string,
  uuid: string,
  input: RestoreBackupOptions,
): Promise<{ done: Promise<void> }> {
  restoreInputs(input);
  checkRateLimit(input.rateLimit);
  throwIfAborted(input.signal, "The restore");
  const slot = await reserveRestore(context, slots, server, uuid);
  try {
    const backups = await context.order.run(server, () => records.settled(server));
    const record = backups.find((candidate) => candidate.uuid === uuid);
    if (!record) throw backupNotFound(server, uuid);
    if (backupStatus(record) !== "successful") throw notSuccessful(record, "restored");
    const serverState = (await context.serverState?.(server)) ?? "offline";
    const { actor } = input;
    enforce(
      context.policy.restore?.({ server, actor, now: context.now(), backups, backup: record, serverState }),
    );
    const root = await context.serverRoot(server);
    const { truncate, only } = input;
    // Refused before anything starts when the record says how much the restore needs; older records
    // are measured in the background, from their archive.
    const needed = only === undefined ? recordedRestoreSize(record) : undefined;
    if (needed !== undefined) await checkRestoreSpace(root, record, needed);
    context.emit(
      activityEvent(context, "server:backup.restore", record, actor, { name: record.name, truncate }),
    );
    const job = {
      record,
      root,
      truncate,
      only,
      actor,
      signal: slot.signal(input.signal),
      keepIgnored: input.keepIgnored ?? false,
      rateLimit: input.rateLimit,
      spaceChecked: needed !== undefined,
      recorded: () => {
        slot.finishing = true;
      },
    };
    const done = context.queue
      .run(server, job.signal, () => runRestore(context, job))
      .finally(() => slot.release());
    // Its failure is already reported as `restore-fail`; whoever awaits `done` still sees it.
    done.catch(() => {});
    return { done };
  } catch (error) {
    slot.release();
    throw error;
  }
}

/** Takes the server for the restore; a missing backup is reported as such even while the server is busy. */
async function reserveRestore(
  context: ManagerContext,
  slots: ServerSlots,
  server: string,
  uuid: string,
): Promise<Slot> {
  try {
    return slots.reserve(server, "restore", uuid);
  } catch (error) {
    if (!(await context.catalog.get(server, uuid))) throw backupNotFound(server, uuid);
    throw error;
  }
}
