// Public API of @strongbox/core, grouped by module family.

// archive: pack, extract, contents, shared threads, shared types
export {
  type ArchiveWorkers,
  type ArchiveWorkersOptions,
  createArchiveWorkers,
} from "./archive/archive-workers.js";
export { type ContentsOptions, contents } from "./archive/extract/contents.js";
export { DEFAULT_EXTRACT_LIMITS } from "./archive/extract/extract-limits.js";
export { pack } from "./archive/pack/pack.js";
export { packToFile } from "./archive/pack/pack-file.js";
// I/O limits
export type { RateLimiter, RateLimiterOptions } from "./io/rate-limit.js";
export { createRateLimiter, limitRate, parseRate } from "./io/rate-limit.js";
// manager, records, migration
export type { ActivityListener, ListenerErrorHandler } from "./manager/activity.js";
export type {
  ActiveOperation,
  BackupManager,
  BackupManagerOptions,
  BackupPage,
  BackupWarning,
  CreateBackupOptions,
  ForgetOptions,
  ForgetResult,
  ListBackupsOptions,
  ReplicaOptions,
  RestoreBackupOptions,
  VerifyBackupOptions,
} from "./manager/api.js";
export type { VerifySampleOptions } from "./manager/background-verify.js";
export { type BackupCatalog, createManifestCatalog } from "./manager/catalog.js";
export { type DrillOptions, type DrillReport, MAX_DIFFERENCES } from "./manager/drill.js";
export type { DrillDifference } from "./manager/drill-compare.js";
export type { AfterHookContext, HookContext, OperationHooks } from "./manager/hooks.js";
export { archiveKey, manifestKey, validateBackupId, validateServerId } from "./manager/keys.js";
export { createBackupManager } from "./manager/manager.js";
export {
  type MigratedBackup,
  type MigrateOptions,
  type MigrateSummary,
  type MigrationPlan,
  migrateBackups,
} from "./manager/migrate.js";
export type { OperationProgress } from "./manager/progress.js";
export type { RateLimit, RateLimits } from "./manager/rate-limits.js";
export { type BackupStatus, backupStatus } from "./manager/records.js";
export { measureSourceBeside, type SourceToMeasure, type SourceTotal } from "./manager/source-total.js";
export type {
  ActivityEvent,
  ActivityEventName,
  Actor,
  BackupCopy,
  BackupOwner,
  BackupPolicy,
  BackupRecord,
  BackupVerification,
  CreateDecision,
  Decision,
  PolicyInput,
  ReplicaSource,
  ServerState,
} from "./manager/types.js";
// the building blocks adapters and the repository import on their own (see parts.ts)
export * from "./parts.js";

// names that are not UTF-8, held in strings (see path-bytes.ts)

// schedules
export { createBackupScheduler } from "./schedule/scheduler.js";
export type {
  BackupSchedule,
  BackupScheduler,
  BackupSchedulerOptions,
  ScheduledRun,
  ScheduleInfo,
  SkipReason,
  StopSchedulerOptions,
} from "./schedule/types.js";
export {
  createVerificationScheduler,
  type VerificationRun,
  type VerificationScheduler,
  type VerificationSchedulerOptions,
} from "./schedule/verification-scheduler.js";

// storage
export { createMemoryStorage, type MemoryStorageOptions } from "./storage/memory.js";
export { storesOnThisMachine } from "./storage/on-this-machine.js";
