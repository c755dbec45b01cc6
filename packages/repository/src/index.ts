// @strongbox/repository: the repository format for incremental, deduplicated backups (in progress).
export { type BackupOptions, backup } from "./backup.js";
export type { SealedBlob } from "./blob-encoder.js";
export {
  type CheckOptions,
  type CheckProblem,
  type CheckReport,
  checkRepository,
  type DamagedSnapshot,
} from "./check.js";
export { ChunkIndex, type ChunkLocation, ID_BYTES } from "./chunk-index.js";
export { type ReadChunksOptions, readChunks } from "./chunk-reader.js";
export { type Chunker, type ChunkerOptions, type ChunkSizes, createChunker } from "./chunker.js";
export { FORMAT_VERSION, type RepositoryConfig } from "./config.js";
export { type SnapshotTarOptions, snapshotTar } from "./export.js";
export { type ForgetSnapshotsOptions, forgetSnapshots } from "./forget.js";
export { gearTable } from "./gear.js";
export { decodeIndexObject, encodeIndexObject } from "./index-object.js";
export { listIndexObjects, loadIndex, writeIndexObject } from "./index-store.js";
export type { KdfCost, KeySlotInfo } from "./key-slots.js";
export {
  DEFAULT_LOCK_REFRESH_MS,
  DEFAULT_LOCK_STALE_AFTER_MS,
  type LockInfo,
  type LockKind,
  type LockOptions,
  type LockOwner,
  listLocks,
  lockRepository,
  type RepositoryLock,
  removeStaleLocks,
  type StaleLockRules,
} from "./locks.js";
export {
  createPackWriter,
  DEFAULT_PACK_BYTES,
  decodePackHeader,
  type PackInput,
  type PackKind,
  type PackWriter,
  type PackWriterOptions,
  packKey,
  readChunk,
  readPackHeader,
} from "./packs.js";
export {
  DEFAULT_INDEX_OBJECT_ENTRIES,
  DEFAULT_REPACK_THRESHOLD,
  type PruneOptions,
  type PruneProgress,
  type PruneResult,
  prune,
} from "./prune.js";
export {
  type InitRepositoryOptions,
  initRepository,
  openRepository,
  type Repository,
  type RepositoryLocation,
} from "./repository.js";
export { type RestoreSnapshotOptions, restoreSnapshot } from "./restore.js";
export {
  deleteSnapshotObject,
  latestSnapshot,
  listSnapshotIds,
  listSnapshots,
  readSnapshot,
  readTree,
  type Snapshot,
  type SnapshotCounts,
  validateSnapshotId,
} from "./snapshots.js";
export type { TreeEntry } from "./tree.js";
