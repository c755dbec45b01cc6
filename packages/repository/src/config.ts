import { StrongboxError } from "@strongbox/core/parts";
import type { ChunkSizes } from "./chunker.js";
import { parseObject } from "./stored-json.js";

/**
 * The format version this code writes and the only one it reads. 2: tree chunks in packs of their own,
 * snapshots under `snapshots/<server tag>/`. Version 1 was only ever written by development builds
 * (nothing was released with it).
 */
export const FORMAT_VERSION = 2;
const FORMAT = "strongbox-repository";

/** A repository's config: what every reader needs before anything else. Stored in plain JSON: it holds no secret. */
export interface RepositoryConfig {
  format: typeof FORMAT;
  version: number;
  /** Random id of this repository. */
  id: string;
  /** `aes-256-gcm`: every object but this config and the key slots is encrypted. */
  encryption: "aes-256-gcm" | "none";
  chunker: ChunkSizes;
}

/** A new config. */
export function newConfig(id: string, encrypted: boolean, chunker: ChunkSizes): RepositoryConfig {
  return {
    format: FORMAT,
    version: FORMAT_VERSION,
    id,
    encryption: encrypted ? "aes-256-gcm" : "none",
    chunker,
  };
}

/**
 * Reads a stored config.
 * @throws StrongboxError `INVALID_INPUT` when the bytes are not a repository config, or when the repository
 *   has a newer format version than this code reads (the message says to upgrade), or an older one.
 */
export function parseConfig(bytes: Uint8Array, where: string): RepositoryConfig {
  const value = parseObject(bytes);
  if (value?.format !== FORMAT) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `${where} does not hold a Strongbox repository config (it is damaged, or not a repository); nothing was changed.`,
      { details: { where } },
    );
  }
  const version = value.version;
  if (typeof version === "number" && Number.isInteger(version) && version > FORMAT_VERSION) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The repository at ${where} has format version ${version}; this Strongbox reads version ${FORMAT_VERSION}. Upgrade Strongbox to use it; nothing was changed.`,
      { details: { where, formatVersion: version, supported: FORMAT_VERSION } },
    );
  }
  if (typeof version === "number" && Number.isInteger(version) && version >= 1 && version < FORMAT_VERSION) {
    // Read as version 2, a version 1 repository would show no snapshot, and a prune would delete its data.
    throw new StrongboxError(
      "INVALID_INPUT",
      `The repository at ${where} has format version ${version}, written by a development build of Strongbox; this Strongbox reads version ${FORMAT_VERSION} only. Back the servers up into a new repository; nothing was changed.`,
      { details: { where, formatVersion: version, supported: FORMAT_VERSION } },
    );
  }
  const chunker = value.chunker as Partial<ChunkSizes> | undefined;
  const whole = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n > 0;
  if (
    version !== FORMAT_VERSION ||
    typeof value.id !== "string" ||
    (value.encryption !== "aes-256-gcm" && value.encryption !== "none") ||
    !whole(chunker?.min) ||
    !whole(chunker?.average) ||
    !whole(chunker?.max)
  ) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The repository config at ${where} is damaged (a field is missing or wrong); nothing was changed.`,
      { details: { where } },
    );
  }
  return value as unknown as RepositoryConfig;
}
