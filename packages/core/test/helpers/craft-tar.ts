import { gzipSync } from "node:zlib";
import { encodePath } from "../../src/path-bytes.js";

/**
 * One entry to write into a crafted tar stream; anything may be hostile. Names are written with
 * `encodePath`, so U+DC80–U+DCFF in a name stand for raw bytes that are not UTF-8.
 */
export interface CraftEntry {
  path: string;
  /** A tar typeflag by name, or any raw typeflag character. Default `file`. */
  type?: "file" | "directory" | "symlink" | "hardlink" | "char" | "block" | "fifo" | (string & {});
  content?: string | Uint8Array;
  /** Declared size, when it should differ from the content's length. */
  size?: number;
  mode?: number;
  /** Seconds since the epoch. Default 1,600,000,000. */
  mtime?: number;
  linkTarget?: string;
  /** Records of a pax `x` header written just before the entry. */
  pax?: Record<string, string>;
  /** Write the path (and link target) as GNU `L`/`K` long-name headers. */
  gnuLongNames?: boolean;
  /** Store the ustar `prefix` field: the path is split at its last `/` that fits. */
  ustarPrefix?: boolean;
  /** Write a wrong header checksum. */
  badChecksum?: boolean;
  /** Write the size in GNU base-256, whatever its value. */
  base256Size?: boolean;
}

/** Options of {@link craftTar}. */
export interface CraftOptions {
  /** Write the two zero blocks that end an archive (default true). */
  end?: boolean;
  /** A pax `g` header at the start. */
  globalPax?: Record<string, string>;
}

const TYPEFLAGS: Record<string, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  directory: "5",
  fifo: "6",
};

const encoder = new TextEncoder();

/** Builds tar bytes from entry descriptions, hostile ones included. */
export function craftTar(entries: readonly CraftEntry[], options: CraftOptions = {}): Buffer {
  const parts: Uint8Array[] = [];
  if (options.globalPax) parts.push(...metaEntry("pax_global_header", "g", paxBody(options.globalPax)));
  for (const entry of entries) parts.push(...entryBlocks(entry));
  if (options.end !== false) parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}

/** {@link craftTar}, gzip-compressed. */
export function craftTarGz(entries: readonly CraftEntry[], options: CraftOptions = {}): Buffer {
  return gzipSync(craftTar(entries, options));
}

function entryBlocks(entry: CraftEntry): Uint8Array[] {
  const parts: Uint8Array[] = [];
  if (entry.pax) parts.push(...metaEntry("PaxHeader", "x", paxBody(entry.pax)));
  if (entry.gnuLongNames) {
    parts.push(...metaEntry("././@LongLink", "L", cString(entry.path)));
    if (entry.linkTarget) parts.push(...metaEntry("././@LongLink", "K", cString(entry.linkTarget)));
  }
  const content =
    typeof entry.content === "string" ? encoder.encode(entry.content) : (entry.content ?? new Uint8Array());
  const type = entry.type ?? "file";
  parts.push(
    header({
      path: entry.gnuLongNames ? entry.path.slice(0, 99) : entry.path,
      typeflag: TYPEFLAGS[type] ?? type,
      size: entry.size ?? content.length,
      mode: entry.mode ?? (type === "directory" ? 0o755 : 0o644),
      mtime: entry.mtime ?? 1_600_000_000,
      linkTarget: entry.gnuLongNames ? (entry.linkTarget ?? "").slice(0, 99) : (entry.linkTarget ?? ""),
      ustarPrefix: entry.ustarPrefix ?? false,
      badChecksum: entry.badChecksum ?? false,
      base256Size: entry.base256Size ?? false,
      gnu: entry.gnuLongNames ?? false,
    }),
  );
  parts.push(...padded(content));
  return parts;
}

function metaEntry(name: string, typeflag: string, body: Uint8Array): Uint8Array[] {
  const block = header({
    path: name,
    typeflag,
    size: body.length,
    mode: 0o644,
    mtime: 0,
    linkTarget: "",
    ustarPrefix: false,
    badChecksum: false,
    base256Size: false,
    gnu: typeflag === "L" || typeflag === "K",
  });
  return [block, ...padded(body)];
}

function paxBody(records: Record<string, string>): Uint8Array {
  let body = "";
  for (const [key, value] of Object.entries(records)) {
    const record = ` ${key}=${value}\n`;
    const rest = encodePath(record).length;
    // The length counts its own digits.
    let length = rest + 1;
    while (String(length).length + rest !== length) length = String(length).length + rest;
    body += `${length}${record}`;
  }
  return encodePath(body);
}

function cString(value: string): Uint8Array {
  const bytes = encodePath(value);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function padded(content: Uint8Array): Uint8Array[] {
  if (content.length === 0) return [];
  const padding = (512 - (content.length % 512)) % 512;
  return [content, new Uint8Array(padding)];
}

interface HeaderFields {
  path: string;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
  linkTarget: string;
  ustarPrefix: boolean;
  badChecksum: boolean;
  base256Size: boolean;
  gnu: boolean;
}

function header(fields: HeaderFields): Uint8Array {
  const block = new Uint8Array(512);
  let name = fields.path;
  if (fields.ustarPrefix) {
    const split = name.lastIndexOf("/", 155);
    writeString(block, 345, 155, name.slice(0, split));
    name = name.slice(split + 1);
  }
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeSize(block, fields.size, fields.base256Size);
  writeOctal(block, 136, 12, fields.mtime);
  block[156] = fields.typeflag.charCodeAt(0);
  writeString(block, 157, 100, fields.linkTarget);
  writeString(block, 257, 8, fields.gnu ? "ustar  " : "ustar\u000000");
  writeString(block, 265, 32, "root");
  writeString(block, 297, 32, "root");
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeOctal(block, 148, 7, fields.badChecksum ? sum + 1 : sum);
  return block;
}

function writeString(block: Uint8Array, offset: number, length: number, value: string): void {
  block.set(encodePath(value).subarray(0, length), offset);
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  writeString(block, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}

/** Sizes past the 11-digit octal field use GNU base-256, as real tars do; negative ones in two's complement. */
function writeSize(block: Uint8Array, size: number, base256: boolean): void {
  if (size >= 0 && size < 8 ** 11 && !base256) {
    writeOctal(block, 124, 12, size);
    return;
  }
  const negative = size < 0;
  let rest = negative ? -(size + 1) : size;
  for (let i = 135; i > 124; i--) {
    block[i] = negative ? ~rest & 0xff : rest % 256;
    rest = Math.floor(rest / 256);
  }
  block[124] = negative ? 0xff : 0x80;
}
