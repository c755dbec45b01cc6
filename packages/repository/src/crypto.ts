import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/** Bytes of every key: AES-256 and HMAC-SHA-256 keys alike. */
export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts and authenticates `plain` with AES-256-GCM under a fresh random nonce: `nonce || ciphertext ||
 * tag`. `context` (what the object is and where it lives) is authenticated too, so a stored object cannot
 * be swapped for another one sealed under the same key.
 */
export function seal(key: Uint8Array, plain: Uint8Array, context: string): Buffer {
  const nonce = freshNonce();
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Random bytes drawn from the CSPRNG a few KiB at a time, each nonce a slice never handed out twice. */
let nonces = Buffer.alloc(0);
let noncesUsed = 0;

/**
 * A random nonce. One call into the CSPRNG per nonce cost about 10 µs, as much as sealing a 16 KiB chunk's
 * bytes; drawing 4 KiB at once makes it one call per 341 nonces. The bytes are as random either way.
 */
function freshNonce(): Buffer {
  if (noncesUsed + NONCE_BYTES > nonces.length) {
    nonces = randomBytes(4096 - (4096 % NONCE_BYTES));
    noncesUsed = 0;
  }
  noncesUsed += NONCE_BYTES;
  return nonces.subarray(noncesUsed - NONCE_BYTES, noncesUsed);
}

/** The plain bytes of what {@link seal} made with this key and context, or `undefined` when they do not match. */
export function unseal(key: Uint8Array, sealed: Uint8Array, context: string): Buffer | undefined {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined;
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    return undefined;
  }
}

/** A key for one purpose (`label`) derived from the master key with HKDF-SHA-256. */
export function subkey(master: Uint8Array, label: string): Buffer {
  return Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), `strongbox-repository ${label}`, KEY_BYTES));
}
