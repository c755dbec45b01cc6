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
// storage
export type {
  DownloadUrlOptions,
  GetOptions,
  ObjectInfo,
  PutOptions,
  StorageAdapter,
} from "./storage/types.js";
