import type { ArchiveWorkers } from "../archive/archive-workers.js";
import { StrongboxError } from "../errors.js";
import type { StorageAdapter } from "../storage/types.js";
import type { BackupWarning } from "./api.js";
import type { BackupCatalog } from "./catalog.js";
import type { OperationHooks } from "./hooks.js";
import type { OperationProgress } from "./progress.js";
import type { SharedLimiters } from "./rate-limits.js";
import type { RecordOrder } from "./record-order.js";
import { formatTimestamp } from "./records.js";
import type { Replicator } from "./replicator.js";
import type { RunQueue } from "./run-queue.js";
import type {
  ActivityEvent,
  Actor,
  BackupPolicy,
  BackupRecord,
  CreateDecision,
  Decision,
  ServerState,
} from "./types.js";

/** What the manager's parts share: resolved options and the event emitter. */
export interface ManagerContext {
  storage: StorageAdapter;
  catalog: BackupCatalog;
  serverRoot: (server: string) => string | Promise<string>;
  serverState: ((server: string) => ServerState | Promise<ServerState>) | undefined;
  policy: BackupPolicy;
  emit: (event: ActivityEvent) => void;
  onProgress: ((progress: OperationProgress) => void) | undefined;
  onWarning: (warning: BackupWarning) => void;
  level: number | undefined;
  heartbeatMs: number;
  staleAfterMs: number;
  now: () => Date;
  host: string;
  /** The manager's I/O limiters, shared by all its operations. */
  limiters: SharedLimiters;
  hooks: OperationHooks;
  hookTimeoutMs: number;
  workers: ArchiveWorkers | undefined;
  /** Changes to a server's records, one at a time across processes. */
  order: RecordOrder;
  /** The limit on operations running at once. */
  queue: RunQueue;
  /** Whether this manager has an operation (a backup or its wrap-up, a restore) on a record's backup. */
  inUse: (record: BackupRecord) => boolean;
  /** Copies to the replica, when the manager has one (set once the context exists). */
  replica?: Replicator;
  /** Told of every backup that ended, once its server is free (verifies it when the manager is asked to). */
  backupEnded: (record: BackupRecord) => void;
}

type EventName = ActivityEvent["event"];
type PropertiesOf<E extends EventName> = Extract<ActivityEvent, { event: E }>["properties"];

/** Builds an activity event about `record`, stamped now. */
export function activityEvent<E extends EventName>(
  context: ManagerContext,
  event: E,
  record: BackupRecord,
  actor: Actor | undefined,
  properties: PropertiesOf<E>,
): ActivityEvent {
  const base = {
    event,
    server: record.server,
    backup: record.uuid,
    timestamp: formatTimestamp(context.now()),
  };
  return { ...base, ...(actor ? { actor: actor.id } : {}), properties } as ActivityEvent;
}

/** Turns a policy refusal into the error it names. */
export function enforce(decision: Decision | CreateDecision | undefined): void {
  if (decision && !decision.ok) {
    throw new StrongboxError(
      decision.code,
      decision.message,
      decision.details ? { details: decision.details } : {},
    );
  }
}

/** A sentence for a failed record's `error`: `cancelled` when the operation was aborted. */
export function failureReason(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "cancelled";
  return error instanceof Error && error.message ? error.message : String(error);
}
