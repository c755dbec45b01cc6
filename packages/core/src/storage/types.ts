import type { Readable } from "node:stream";

/** Options of {@link StorageAdapter.put}. */
export interface PutOptions {
  signal?: AbortSignal;
  /** Called with the bytes stored so far. */
  onProgress?: (bytes: number) => void;
}

/** Options of {@link StorageAdapter.get}. */
export interface GetOptions {
  signal?: AbortSignal;
  /**
   * Inclusive byte range; `end` defaults to (and is capped at) the last byte. A range starting at or beyond
   * the end of the object rejects with `INVALID_INPUT`.
   */
  range?: { start: number; end?: number };
}

/** What {@link StorageAdapter.stat} and {@link StorageAdapter.list} say of one object. */
export interface ObjectInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

/** Options of {@link StorageAdapter.downloadUrl}. */
export interface DownloadUrlOptions {
  /** Seconds the URL stays valid (default 900, i.e. 15 minutes). */
  expiresIn?: number;
  /** File name offered to the browser. */
  filename?: string;
}

/**
 * The contract every storage backend implements. Keys are `/`-separated relative names such as
 * `<server>/<uuid>.tar.gz`; core validates them (see `validateKey`, `withKeyValidation`) before an
 * adapter sees them, so adapters may assume valid keys, ranges and options. Every adapter passes
 * `describeStorageContract` from `@strongbox/core/testing`.
 */
export interface StorageAdapter {
  /** Short name for messages and logs (`local`, `s3`, `memory`). */
  readonly name: string;
  /**
   * Stores a stream under `key`. The object becomes visible only once complete; a failed or aborted
   * put leaves no object and nothing half-uploaded behind.
   */
  put(key: string, body: Readable | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<ObjectInfo>;
  /** Reads an object. Rejects with `NOT_FOUND` when it does not exist. */
  get(key: string, options?: GetOptions): Promise<Readable>;
  /** Describes an object, or returns `undefined` when it does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Removes an object; removing a missing one succeeds. */
  delete(key: string): Promise<void>;
  /**
   * Every object under the folder `prefix`, sorted by key, pagination hidden. A prefix names a folder:
   * `a` and `a/` both list `a/x` and `a/b/y` but never `ab/x` or `a.txt`; `""` lists everything. Core
   * hands adapters the folder form (`""` or ending in `/`), so a plain string prefix match is enough.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * A URL that downloads the object without other credentials, scoped to that one object and expiring
   * after `expiresIn` seconds (default 900), when the adapter supports it. Adapters without downloads
   * leave this method out.
   */
  downloadUrl?(key: string, options?: DownloadUrlOptions): Promise<string>;
  /**
   * Bytes still free for new objects, for adapters that keep them on a volume of this machine. Its
   * presence tells core the storage is local: archives then count against the `write` rate limit (not
   * `upload`), and a backup is refused up front when the volume cannot hold it.
   */
  freeSpace?(): Promise<number>;
}
