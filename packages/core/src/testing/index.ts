// Test helpers for adapter authors: the storage contract suite and the data it streams.
export {
  hashStream,
  patternBytes,
  patternSha256,
  readAll,
  type StreamPatternOptions,
  streamPattern,
} from "./bytes.js";
export {
  describeStorageContract,
  type StorageContractOptions,
  type StorageContractSubject,
} from "./storage-contract.js";
