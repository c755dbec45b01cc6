// @strongbox/repository: the repository format for incremental, deduplicated backups (in progress).
export { type Chunker, type ChunkerOptions, type ChunkSizes, createChunker } from "./chunker.js";
export { FORMAT_VERSION, type RepositoryConfig } from "./config.js";
export { gearTable } from "./gear.js";
export type { KdfCost, KeySlotInfo } from "./key-slots.js";
export {
  type InitRepositoryOptions,
  initRepository,
  openRepository,
  type Repository,
  type RepositoryLocation,
} from "./repository.js";
