// @strongbox/repository: the repository format for incremental, deduplicated backups (in progress).
export { type Chunker, type ChunkerOptions, type ChunkSizes, createChunker } from "./chunker.js";
export { gearTable } from "./gear.js";
