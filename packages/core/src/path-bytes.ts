/**
 * Names as bytes, held in strings.
 *
 * POSIX names are bytes, not text: GNU tar, Go's archive/tar (Wings) and a server's own files may hold
 * names that are not UTF-8. Strongbox keeps them byte-exact by decoding a name the way Python's
 * `os.fsdecode` does ("surrogateescape"): valid UTF-8 decodes as usual, and every byte that is not part of
 * valid UTF-8 becomes the lone surrogate U+DC80–U+DCFF of the same low byte. The string round-trips to the
 * same bytes through {@link encodePath}, two different names never decode to the same string, and
 * `JSON.stringify` writes such a character as `"\udce9"`, so JSON output keeps every byte.
 *
 * Node's `fs` encodes a string path as UTF-8 and would turn a lone surrogate into U+FFFD: pass
 * {@link fsPath} to `fs` instead, which is a `Buffer` exactly when the name holds raw bytes.
 */

import { readdirSync, renameSync } from "node:fs";

// `ignoreBOM` keeps a leading U+FEFF: a name may start with those bytes, and dropping them loses bytes.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Lone surrogates only: with the `u` flag a surrogate pair is one code point and never matches. */
const RAW_BYTE = /[\uDC80-\uDCFF]/u;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Decodes a name's bytes; bytes that are not valid UTF-8 become U+DC80–U+DCFF (lossless). */
export function decodePath(bytes: Uint8Array): string {
  try {
    const text = strictUtf8.decode(bytes);
    // A name whose UTF-8 spells U+DC80–U+DCFF itself is not valid UTF-8 (surrogates are excluded), so
    // strict decoding already refused it: a decoded string never collides with an escaped one.
    return text;
  } catch {
    return decodeLossless(bytes);
  }
}

/** The bytes of a name decoded by {@link decodePath}. */
export function encodePath(name: string): Buffer {
  if (!LONE_SURROGATE.test(name)) return Buffer.from(name, "utf8");
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < name.length) {
      const next = name.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit < 0xdc80 || unit > 0xdcff) {
      throw new RangeError(`The name "${name}" holds a lone UTF-16 surrogate that stands for no byte.`);
    }
    parts.push(Buffer.from(name.slice(start, i), "utf8"), Buffer.of(unit - 0xdc00));
    start = i + 1;
  }
  parts.push(Buffer.from(name.slice(start), "utf8"));
  return Buffer.concat(parts);
}

/** Whether a decoded name holds bytes that are not UTF-8. */
export function hasRawBytes(name: string): boolean {
  return RAW_BYTE.test(name);
}

/** A path for `fs`: the string itself when it is UTF-8, its bytes otherwise. */
export function fsPath(path: string): string | Buffer {
  return hasRawBytes(path) ? encodePath(path) : path;
}

/** Reads the name of an `fs` entry read with `{ encoding: "buffer" }`. */
export function decodeFsName(name: Buffer | string): string {
  return typeof name === "string" ? name : decodePath(name);
}

/** The names in a directory, decoded with {@link decodePath} (`fs`'s own decoding would mangle some). */
export function listNames(directory: string): string[] {
  return readdirSync(fsPath(directory), { encoding: "buffer" }).map((name) => decodePath(name));
}

/** `renameSync` for decoded paths. */
export function renamePath(from: string, to: string): void {
  renameSync(fsPath(from), fsPath(to));
}

function decodeLossless(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const length = utf8SequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(0xdc00 + (bytes[i] as number));
      i++;
    } else {
      out += strictUtf8.decode(bytes.subarray(i, i + length));
      i += length;
    }
  }
  return out;
}

/** The length of the valid UTF-8 sequence at `i`, or 0 when the byte there starts none. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const first = bytes[i] as number;
  if (first < 0x80) return 1;
  let length: number;
  let min: number;
  let max = 0xbf;
  if (first >= 0xc2 && first <= 0xdf) {
    length = 2;
    min = 0x80;
  } else if (first >= 0xe0 && first <= 0xef) {
    length = 3;
    // Overlong forms and UTF-16 surrogates are not valid UTF-8.
    min = first === 0xe0 ? 0xa0 : 0x80;
    if (first === 0xed) max = 0x9f;
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4;
    min = first === 0xf0 ? 0x90 : 0x80;
    if (first === 0xf4) max = 0x8f;
  } else {
    return 0;
  }
  if (i + length > bytes.length) return 0;
  const second = bytes[i + 1] as number;
  if (second < min || second > max) return 0;
  for (let k = 2; k < length; k++) {
    const next = bytes[i + k] as number;
    if (next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}
