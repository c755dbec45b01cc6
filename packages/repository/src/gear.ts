import { createHash } from "node:crypto";

/**
 * A gear table: one 32-bit value for each byte value, what the rolling hash adds for that byte. Derived
 * from `seed` with SHA-256 in counter mode, so the same seed always gives the same table (and the same
 * chunk boundaries). A repository that encrypts derives its seed from its secret, so boundaries, and the
 * chunk sizes an observer sees, depend on a key as well as on the content.
 */
export function gearTable(seed: string | Uint8Array): Uint32Array {
  const table = new Uint32Array(256);
  for (let block = 0; block < 32; block++) {
    const digest = createHash("sha256").update(seed).update(String(block)).digest();
    for (let word = 0; word < 8; word++) table[block * 8 + word] = digest.readUInt32LE(word * 4);
  }
  return table;
}
