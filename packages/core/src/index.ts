// Public API of @strongbox/core, grouped by module family.

// archive: pack, extract, contents, shared threads, shared types
export {
  type ArchiveWorkers,
  type ArchiveWorkersOptions,
  createArchiveWorkers,
} from "./archive/archive-workers.js";
export { type ContentsOptions, contents } from "./archive/extract/contents.js";
export { extract } from "./archive/extract/extract.js";
export { DEFAULT_EXTRACT_LIMITS } from "./archive/extract/extract-limits.js";
export { looksCompressed } from "./archive/gzip/deflate-incompressible.js";
export { pack } from "./archive/pack/pack.js";
export { packToFile } from "./archive/pack/pack-file.js";
export { DEFAULT_IGNORE_FILE, resolvePackInput } from "./archive/pack/pack-input.js";
export {
  createTreeWalk,
  type TreeWalk,
  type WalkOptions,
  type WalkVisitor,
  walkTree,
} from "./archive/pack/walk.js";
export {
  encodeTarHeader,
  TAR_RECORD,
  type TarEntryHeader,
  tarEndLength,
  tarPadding,
} from "./archive/tar/tar-header.js";
export type {
  ArchiveEntry,
  ArchiveOperationOptions,
  ArchiveSource,
  ArchiveWarning,
  ArchiveWarningCode,
  ExtractLimits,
  ExtractOptions,
  ExtractResult,
  PackHandle,
  PackOptions,
  PackResult,
  Progress,
  RestoreMode,
} from "./archive/types.js";

// errors, ignore rules, I/O limits and disk space
export type { ErrorCode, StrongboxErrorOptions } from "./errors.js";
export { abortError, ERROR_CODES, isStrongboxError, StrongboxError, throwIfAborted } from "./errors.js";
export { createIgnoreMatcher, type IgnoreMatcher, parseIgnoreRules } from "./ignore.js";
export { ensureSpace, formatBytes, freeSpace } from "./io/disk-space.js";
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
export { isAbandoned, isProcessAlive, type LivenessRules } from "./manager/liveness.js";
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

// names that are not UTF-8, held in strings (see path-bytes.ts)
export { decodePath, encodePath, fsPath, hasRawBytes } from "./path-bytes.js";

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
export {
  DEFAULT_DOWNLOAD_EXPIRY_SECONDS,
  MAX_DOWNLOAD_EXPIRY_SECONDS,
  validateDownloadOptions,
} from "./storage/download-options.js";
export { MAX_KEY_LENGTH, MAX_SEGMENT_LENGTH, validateKey, validatePrefix } from "./storage/keys.js";
export { createMemoryStorage, type MemoryStorageOptions } from "./storage/memory.js";
export { objectNotFound } from "./storage/object-not-found.js";
export { type ResolvedRange, resolveRange, validateRange } from "./storage/ranges.js";
export type {
  DownloadUrlOptions,
  GetOptions,
  ObjectInfo,
  PutOptions,
  StorageAdapter,
} from "./storage/types.js";
export { withKeyValidation } from "./storage/with-key-validation.js";
