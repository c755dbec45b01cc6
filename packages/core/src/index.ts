// Public API of @strongbox/core. Each section is owned by one module family; keep exports grouped.

// archive: shared types
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
export type { ErrorCode, StrongboxErrorOptions } from "./errors.js";
// errors
export { abortError, ERROR_CODES, isStrongboxError, StrongboxError, throwIfAborted } from "./errors.js";

// archive: pack + ignore rules
export { createIgnoreMatcher, type IgnoreMatcher, parseIgnoreRules } from "./ignore.js";

// archive: extract + contents

// manager
export type {
  ActivityEvent,
  ActivityEventName,
  Actor,
  BackupOwner,
  BackupPolicy,
  BackupRecord,
  CreateDecision,
  Decision,
  PolicyInput,
  ServerState,
} from "./manager/types.js";
// io: rate limits
export { createRateLimiter, limitRate, parseRate } from "./io/rate-limit.js";
export type { RateLimiter, RateLimiterOptions } from "./io/rate-limit.js";

// storage
export type {
  DownloadUrlOptions,
  GetOptions,
  ObjectInfo,
  PutOptions,
  StorageAdapter,
} from "./storage/types.js";
