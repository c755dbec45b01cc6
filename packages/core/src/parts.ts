// @strongbox/core/parts: the building blocks storage adapters and @strongbox/repository are made of
// (errors, keys and ranges, the tree walk and ignore rules, the tar header writer, the safe extract,
// path bytes, process liveness, starting worker threads), without the backup manager, schedules, packer
// and their dependencies.
// A process that needs only these (a repository command, an adapter) loads a fifth of core's modules:
// every command pays module loading before it does anything. `@strongbox/core` exports all of it too.

export { extract } from "./archive/extract/extract.js";
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
  ExtractCounts,
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
export { abortError, ERROR_CODES, isStrongboxError, StrongboxError, throwIfAborted } from "./errors.js";
export { createIgnoreMatcher, type IgnoreMatcher, parseIgnoreRules } from "./ignore.js";
export { ensureSpace, formatBytes, freeSpace } from "./io/disk-space.js";
export { isAbandoned, isProcessAlive, type LivenessRules } from "./manager/liveness.js";
export { decodePath, encodePath, fsPath, hasRawBytes } from "./path-bytes.js";
export {
  DEFAULT_DOWNLOAD_EXPIRY_SECONDS,
  MAX_DOWNLOAD_EXPIRY_SECONDS,
  validateDownloadOptions,
} from "./storage/download-options.js";
export { MAX_KEY_LENGTH, MAX_SEGMENT_LENGTH, validateKey, validatePrefix } from "./storage/keys.js";
export { objectNotFound } from "./storage/object-not-found.js";
export { storesOnThisMachine } from "./storage/on-this-machine.js";
export { type ResolvedRange, resolveRange, validateRange } from "./storage/ranges.js";
export type {
  DownloadUrlOptions,
  GetOptions,
  ObjectInfo,
  PutOptions,
  StorageAdapter,
} from "./storage/types.js";
export { withKeyValidation } from "./storage/with-key-validation.js";
export * from "./threads.js";
