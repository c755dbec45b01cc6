// Public API of @strongbox/core. Each section is owned by one module family; keep exports grouped.

// errors
export { ERROR_CODES, StrongboxError, abortError, isStrongboxError, throwIfAborted } from "./errors.js";
export type { ErrorCode, StrongboxErrorOptions } from "./errors.js";

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

// archive: pack + ignore rules

// archive: extract + contents

// storage
export type { DownloadUrlOptions, GetOptions, ObjectInfo, PutOptions, StorageAdapter } from "./storage/types.js";

// manager
