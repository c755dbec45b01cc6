import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { type StorageAdapter, StrongboxError, validatePrefix } from "@strongbox/core/parts";
import { type ChunkKeys, chunkIdBytes } from "./blob-encoder.js";
import { type Chunker, type ChunkerOptions, type ChunkSizes, createChunker } from "./chunker.js";
import { newConfig, parseConfig, type RepositoryConfig } from "./config.js";
import { KEY_BYTES, seal, subkey, unseal } from "./crypto.js";
import { gearTable } from "./gear.js";
import { checkPassword, type KdfCost, type KeySlotInfo, keySlots } from "./key-slots.js";
import { readSmallObject, writeSmallObject } from "./stored-json.js";

/** Where a repository lives, and its password when it is encrypted. */
export interface RepositoryLocation {
  storage: StorageAdapter;
  /** A folder of the storage (default: its root). */
  prefix?: string;
  /** The password of an encrypted repository (absent: the repository is not encrypted). */
  password?: string;
  /**
   * Keep the loaded chunk index in memory between operations, for a long-lived process (a daemon): each
   * later backup, restore or prune through this handle then reads only the index objects written since,
   * and builds the index again from all of them once one it holds is gone (a prune merged or removed it).
   * Costs the index's memory for as long as the handle lives (about 54 MiB per million chunks), and a copy
   * of it per operation. Default false: every operation reads every index object.
   */
  keepIndex?: boolean;
}

/** Options of {@link initRepository}. */
export interface InitRepositoryOptions extends RepositoryLocation {
  /** Chunk sizes (default 4 / 16 / 64 KiB, chosen by measurement: see the README). */
  chunkSizes?: ChunkSizes;
  /** scrypt's cost for the first key slot (default N = 2^15, r = 8, p = 1). */
  kdf?: KdfCost;
}

/** An open repository: its config, its keys, and what every object and chunk goes through. */
export interface Repository {
  readonly config: RepositoryConfig;
  /** Where the repository is stored, and its folder there (`""` or ending in `/`). */
  readonly storage: StorageAdapter;
  readonly prefix: string;
  /** Whether the loaded index stays in memory between operations (see {@link RepositoryLocation.keepIndex}). */
  readonly keepsIndex: boolean;
  /** A chunker with the repository's sizes and gear table (keyed when encrypted). */
  createChunker(): Chunker;
  /** A chunk's id: hex sha256 of its bytes, or HMAC-SHA-256 under a repository key when encrypted. */
  chunkId(bytes: Uint8Array): string;
  /**
   * What to store for `plain` (sealed when encrypted; `plain` itself, not a copy, when not); `context`
   * names the object, e.g. `pack <id>`.
   */
  sealObject(plain: Uint8Array, context: string): Buffer;
  /**
   * The plain bytes of a stored object (`stored` itself, not a copy, when not encrypted).
   * @throws StrongboxError `INVALID_INPUT` when it fails authentication (damaged, or not this object).
   */
  openObject(stored: Uint8Array, context: string): Buffer;
  /** Adds a password (a new key slot); returns the slot's id. Only for an encrypted repository. */
  addPassword(password: string, kdf?: KdfCost): Promise<string>;
  /** Replaces the password this repository was opened with: the new slot is written before the old one goes. */
  changePassword(password: string, kdf?: KdfCost): Promise<string>;
  /** Removes a key slot; never the last one. */
  removeKey(id: string): Promise<void>;
  listKeys(): Promise<KeySlotInfo[]>;
}

const DEFAULT_CHUNK_SIZES: ChunkSizes = { min: 4 * 1024, average: 16 * 1024, max: 64 * 1024 };

/**
 * Creates a repository under the location's prefix: its config and, with a password, a random master key in
 * one key slot. Refuses (`INVALID_INPUT`) when a repository is already there.
 */
export async function initRepository(options: InitRepositoryOptions): Promise<Repository> {
  const { storage } = options;
  const prefix = validatePrefix(options.prefix ?? "");
  const chunkSizes = options.chunkSizes ?? DEFAULT_CHUNK_SIZES;
  createChunker(chunkSizes);
  if (options.password !== undefined) checkPassword(options.password);
  if (await storage.stat(configKey(prefix))) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `A repository already exists at ${where(storage, prefix)}; open it instead.`,
      { details: { prefix } },
    );
  }
  const config = newConfig(randomUUID(), options.password !== undefined, chunkSizes);
  let opened: Opened = { master: undefined, slot: undefined };
  if (options.password !== undefined) {
    const master = randomBytes(KEY_BYTES);
    // The key slot first: a config never names an encryption whose key was not stored.
    const slot = await keySlots(storage, prefix).add(master, options.password, options.kdf);
    opened = { master, slot };
  }
  await writeSmallObject(storage, configKey(prefix), Buffer.from(JSON.stringify(config, null, 2)));
  return repositoryHandle(options, prefix, config, opened);
}

/**
 * Opens the repository under the location's prefix.
 * @throws StrongboxError `NOT_FOUND` when there is none; `INVALID_INPUT` for a damaged config, a newer format
 *   version, or an encrypted repository opened without a password; `PERMISSION_DENIED` for a wrong password.
 */
export async function openRepository(location: RepositoryLocation): Promise<Repository> {
  const { storage } = location;
  const prefix = validatePrefix(location.prefix ?? "");
  const bytes = await readSmallObject(storage, configKey(prefix), "a repository config");
  if (!bytes) {
    throw new StrongboxError(
      "NOT_FOUND",
      `There is no Strongbox repository at ${where(storage, prefix)} (no config); create one with initRepository.`,
      { details: { prefix } },
    );
  }
  const config = parseConfig(bytes, where(storage, prefix));
  if (config.encryption === "none")
    return repositoryHandle(location, prefix, config, { master: undefined, slot: undefined });
  if (location.password === undefined) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The repository at ${where(storage, prefix)} is encrypted: give its password.`,
      { details: { prefix } },
    );
  }
  checkPassword(location.password);
  return repositoryHandle(location, prefix, config, await keySlots(storage, prefix).open(location.password));
}

interface Opened {
  master: Buffer | undefined;
  slot: string | undefined;
}

function repositoryHandle(
  { storage, keepIndex }: RepositoryLocation,
  prefix: string,
  config: RepositoryConfig,
  opened: Opened,
): Repository {
  const slots = keySlots(storage, prefix);
  const { master } = opened;
  const dataKey = master && subkey(master, "data");
  const idKey = master && subkey(master, "chunk ids");
  const serverKey = master && subkey(master, "snapshot servers");
  const gear = master ? gearTable(subkey(master, "gear")) : undefined;
  const chunkerOptions: ChunkerOptions = { ...config.chunker, ...(gear ? { gear } : {}) };
  const needsKey = (what: string): Buffer => {
    if (!master) {
      throw new StrongboxError(
        "INVALID_INPUT",
        `This repository is not encrypted: it has no passwords to ${what}.`,
      );
    }
    return master;
  };
  const handle: Repository = {
    config,
    storage,
    prefix,
    keepsIndex: keepIndex === true,
    createChunker: () => createChunker(chunkerOptions),
    chunkId: (bytes) => chunkIdBytes(idKey, bytes).toString("hex"),
    sealObject: (plain, context) =>
      dataKey ? seal(dataKey, plain, context) : Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength),
    openObject(stored, context) {
      if (!dataKey) return Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
      const plain = unseal(dataKey, stored, context);
      if (!plain) {
        throw new StrongboxError(
          "INVALID_INPUT",
          `The repository's ${context} fails authentication: it is damaged or was replaced.`,
          { details: { object: context } },
        );
      }
      return plain;
    },
    addPassword: async (password, kdf) => slots.add(needsKey("add"), password, kdf),
    async changePassword(password, kdf) {
      const added = await slots.add(needsKey("change"), password, kdf);
      if (opened.slot) await slots.remove(opened.slot);
      opened.slot = added;
      return added;
    },
    removeKey: (id) => slots.remove(id),
    listKeys: () => slots.list(),
  };
  secrets.set(handle, { chunker: chunkerOptions, keys: { idKey, dataKey }, serverKey });
  return handle;
}

/** What chunk workers need to chunk, name and seal as the repository does: kept off its public handle. */
export interface ChunkingSecrets {
  chunker: ChunkerOptions;
  keys: ChunkKeys;
}

/** A repository's secrets kept off its public handle: the chunking ones, and the key of its server tags. */
interface Secrets extends ChunkingSecrets {
  serverKey: Buffer | undefined;
}

const secrets = new WeakMap<Repository, Secrets>();

function secretsOf(repo: Repository): Secrets {
  const found = secrets.get(repo);
  if (!found) throw new TypeError("Not a repository opened by openRepository or initRepository.");
  return found;
}

/** The chunker options and keys of a repository opened by this package (see {@link ChunkingSecrets}). */
export function chunkingSecrets(repo: Repository): ChunkingSecrets {
  return secretsOf(repo);
}

/** Hex digits of a server tag: the first ones of its snapshots' ids. */
export const SERVER_TAG_DIGITS = 8;

/**
 * The tag of a server's snapshots (see `newSnapshotId`): 8 hex digits of HMAC-SHA-256 of its name under a
 * subkey of the master key, or of SHA-256 in a repository without a password. Equal names, equal tags; the
 * name is not readable from it when the repository is encrypted.
 */
export function serverTag(repo: Repository, server: string): string {
  const { serverKey } = secretsOf(repo);
  const mac = serverKey ? createHmac("sha256", serverKey) : createHash("sha256").update("strongbox server\0");
  return mac.update(server).digest("hex").slice(0, SERVER_TAG_DIGITS);
}

function configKey(prefix: string): string {
  return `${prefix}config.json`;
}

function where(storage: StorageAdapter, prefix: string): string {
  return `"${prefix || "/"}" of the ${storage.name} storage`;
}
