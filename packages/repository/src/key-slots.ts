import { randomBytes, randomUUID, scrypt } from "node:crypto";
import { promisify } from "node:util";
import { type StorageAdapter, StrongboxError } from "@strongbox/core/parts";
import { KEY_BYTES, seal, unseal } from "./crypto.js";
import { parseObject, readSmallObject, writeSmallObject } from "./stored-json.js";

/** scrypt's cost: N (a power of two), r and p. The default takes ~0.1 s and 32 MiB. */
export interface KdfCost {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_KDF: KdfCost = { N: 2 ** 15, r: 8, p: 1 };

/** One key slot: the master key sealed with a key derived from one password. */
interface KeySlot {
  kdf: "scrypt";
  cost: KdfCost;
  salt: string;
  sealed: string;
  created_at: string;
}

/** What {@link KeySlots.list} tells of a slot. */
export interface KeySlotInfo {
  id: string;
  created_at: string;
}

/** The key slots of a repository: `keys/<id>.json` under its prefix. */
export interface KeySlots {
  /** Seals `master` with a key derived from `password` in a new slot; returns its id. */
  add(master: Uint8Array, password: string, cost?: KdfCost): Promise<string>;
  /**
   * The master key and the slot `password` opens.
   * @throws StrongboxError `PERMISSION_DENIED` when it opens none (a wrong password).
   */
  open(password: string): Promise<{ master: Buffer; slot: string }>;
  list(): Promise<KeySlotInfo[]>;
  /** Removes a slot; never the last one (`INVALID_INPUT`), `NOT_FOUND` for an unknown id. */
  remove(id: string): Promise<void>;
}

/** The key slots under `prefix` (`""` or ending in `/`). */
export function keySlots(storage: StorageAdapter, prefix: string): KeySlots {
  const folder = `${prefix}keys/`;
  const keyOf = (id: string) => `${folder}${id}.json`;
  const ids = async () => {
    const found: string[] = [];
    for await (const info of storage.list(folder)) {
      const match = /^([0-9a-f-]{36})\.json$/.exec(info.key.slice(folder.length));
      if (match) found.push(match[1]!);
    }
    return found.sort();
  };
  const read = async (id: string): Promise<KeySlot | undefined> => {
    const bytes = await readSmallObject(storage, keyOf(id), "a key slot");
    const value = bytes && parseObject(bytes);
    // A slot with a cost out of bounds is not one of ours: deriving from it could take gigabytes.
    return value?.kdf === "scrypt" &&
      typeof value.salt === "string" &&
      typeof value.sealed === "string" &&
      typeof value.created_at === "string" &&
      isSaneCost(value.cost)
      ? (value as unknown as KeySlot)
      : undefined;
  };
  return {
    async add(master, password, cost = DEFAULT_KDF) {
      if (!isSaneCost(cost)) {
        throw new RangeError("scrypt's cost must be N a power of two up to 2^20, r up to 32 and p up to 16.");
      }
      checkPassword(password);
      const id = randomUUID();
      const salt = randomBytes(16);
      const slot: KeySlot = {
        kdf: "scrypt",
        cost,
        salt: salt.toString("base64"),
        sealed: seal(await derive(password, salt, cost), master, `key ${id}`).toString("base64"),
        created_at: new Date().toISOString(),
      };
      await writeSmallObject(storage, keyOf(id), Buffer.from(JSON.stringify(slot)));
      return id;
    },
    async open(password) {
      const all = await ids();
      for (const id of all) {
        const slot = await read(id);
        if (!slot) continue;
        const key = await derive(password, Buffer.from(slot.salt, "base64"), slot.cost);
        const master = unseal(key, Buffer.from(slot.sealed, "base64"), `key ${id}`);
        if (master?.length === KEY_BYTES) return { master, slot: id };
      }
      throw new StrongboxError(
        "PERMISSION_DENIED",
        `The password opens none of the repository's ${all.length} key slot(s). Check it; a lost password cannot be recovered.`,
        { details: { slots: all.length } },
      );
    },
    async list() {
      const infos: KeySlotInfo[] = [];
      for (const id of await ids()) {
        const slot = await read(id);
        if (slot) infos.push({ id, created_at: slot.created_at });
      }
      return infos;
    },
    async remove(id) {
      const all = await ids();
      if (!all.includes(id)) {
        throw new StrongboxError("NOT_FOUND", `The repository has no key slot ${id}.`, { details: { id } });
      }
      if (all.length === 1) {
        throw new StrongboxError(
          "INVALID_INPUT",
          "This is the repository's last key slot: add another password before removing it, or the data is lost.",
          { details: { id } },
        );
      }
      await storage.delete(keyOf(id));
    },
  };
}

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Uint8Array,
  length: number,
  options: KdfCost & { maxmem: number },
) => Promise<Buffer>;

/** The key a password gives, off the main thread (libuv's pool). Passwords are compared in NFC. */
function derive(password: string, salt: Uint8Array, cost: KdfCost): Promise<Buffer> {
  return scryptAsync(password.normalize("NFC"), salt, KEY_BYTES, {
    ...cost,
    maxmem: 128 * cost.N * cost.r * 2,
  });
}

function isSaneCost(cost: unknown): cost is KdfCost {
  const { N, r, p } = (cost ?? {}) as Partial<KdfCost>;
  const within = (value: unknown, max: number) =>
    typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= max;
  return within(N, 2 ** 20) && Number.isInteger(Math.log2(N as number)) && within(r, 32) && within(p, 16);
}

/** @throws StrongboxError `INVALID_INPUT` for an empty password or one that is not a string. */
export function checkPassword(password: unknown): asserts password is string {
  if (typeof password !== "string" || password === "") {
    throw new StrongboxError("INVALID_INPUT", "A repository password must be a non-empty string.");
  }
}
