import PQueue from "p-queue";
import { abortError, isStrongboxError, StrongboxError } from "../errors.js";
import type { ManagerContext } from "./context.js";
import { validateServerId } from "./keys.js";
import { backupStatus } from "./records.js";
import type { BackupRecord } from "./types.js";
import { verifyBackup } from "./verify.js";

/** Options of {@link BackupManager.verifySample}: how many of the stored backups to read back. */
export interface VerifySampleOptions {
  /** Verify this many backups (all servers together). */
  count?: number;
  /** Verify this share of the successful backups, 0 < fraction <= 1, rounded up (at least one). */
  fraction?: number;
  /** Only these servers' backups; default: every server in the catalog. */
  servers?: readonly string[];
  /** Stops the sample: the verification under way is cancelled and no further one starts. */
  signal?: AbortSignal;
}

/**
 * Verifications the manager runs by itself (of new backups, and samples of older ones): one at a time,
 * so that with the manager's `read` limit they never saturate a node; cancelled on close.
 */
export interface BackgroundVerifier {
  /** Queues a verification of a backup that was just written; problems become `onWarning`s. */
  verifyNew(record: BackupRecord): void;
  /** Verifies the least recently verified successful backups, one at a time; resolves with their records. */
  sample(options: VerifySampleOptions): Promise<BackupRecord[]>;
  /** Cancels what runs or waits and resolves once it stopped. */
  close(): Promise<void>;
}

/** Creates the background verifier of one manager. */
export function createBackgroundVerifier(context: ManagerContext): BackgroundVerifier {
  const queue = new PQueue({ concurrency: 1 });
  const closing = new AbortController();

  /** Verifies one backup in turn; `undefined` when it could not be (a warning says why). */
  async function inTurn(record: BackupRecord, signal?: AbortSignal): Promise<BackupRecord | undefined> {
    const both = signal ? AbortSignal.any([signal, closing.signal]) : closing.signal;
    const verified = queue.add(
      async () => {
        try {
          return await verifyBackup(context, record, undefined, both);
        } catch (error) {
          if (both.aborted) throw error;
          // Deleted while it waited or was read: nothing left to verify.
          if (!isStrongboxError(error, "NOT_FOUND")) warn(record, error);
          return undefined;
        }
      },
      { signal: both },
    );
    // A verification stopped while it waited rejects with the signal's own reason: make it `ABORTED`.
    return verified.catch((error: unknown) => {
      throw both.aborted ? abortError(both, "The verification") : error;
    });
  }

  function warn(record: BackupRecord, error: unknown): void {
    context.onWarning({
      server: record.server,
      backup: record.uuid,
      code: "VERIFICATION_FAILED",
      message: `The backup could not be verified: ${(error as Error).message}`,
    });
  }

  return {
    verifyNew(record) {
      if (backupStatus(record) !== "successful" || closing.signal.aborted) return;
      inTurn(record).catch(() => {});
    },

    async sample(options) {
      const size = sampleSizer(options);
      const servers = options.servers?.map(validateServerId) ?? (await context.catalog.servers());
      const candidates: BackupRecord[] = [];
      for (const server of servers) {
        const records = await context.catalog.list(server);
        candidates.push(...records.filter((record) => backupStatus(record) === "successful"));
      }
      const chosen = leastRecentlyVerified(candidates).slice(0, size(candidates.length));
      const verified: BackupRecord[] = [];
      for (const record of chosen) {
        const outcome = await inTurn(record, options.signal);
        if (outcome) verified.push(outcome);
      }
      return verified;
    },

    async close() {
      // Queued verifications hold this signal too: they reject at once, the running one stops reading.
      closing.abort(new StrongboxError("ABORTED", "The verification was cancelled: the manager closed."));
      await queue.onIdle();
    },
  };
}

/**
 * Never verified first (oldest first), then by the time of their last verification, oldest first: a
 * sample of N each period reads every backup within (backups / N) periods, as restic's
 * `--read-data-subset n/t` does over t runs.
 */
function leastRecentlyVerified(records: BackupRecord[]): BackupRecord[] {
  const key = (record: BackupRecord) => Date.parse(record.verified_at ?? "") || 0;
  return records.sort((a, b) => key(a) - key(b) || Date.parse(a.created_at) - Date.parse(b.created_at));
}

/**
 * How many of a number of backups a sample reads, by its `count` or `fraction`; throws `INVALID_INPUT`
 * unless exactly one of the two is given and valid.
 */
export function sampleSizer(
  options: Pick<VerifySampleOptions, "count" | "fraction">,
): (total: number) => number {
  const { count, fraction } = options;
  if (count !== undefined && fraction === undefined && Number.isInteger(count) && count >= 0) {
    return () => count;
  }
  if (typeof fraction === "number" && count === undefined && fraction > 0 && fraction <= 1) {
    return (total) => Math.ceil(total * fraction);
  }
  throw new StrongboxError(
    "INVALID_INPUT",
    "Say how many backups to verify: either a count (a whole number, 0 or more) or a fraction above 0 and at most 1.",
    { details: { count, fraction } },
  );
}
