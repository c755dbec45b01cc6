import { encodePath, hasRawBytes } from "../../path-bytes.js";

/** Tar works in 512-byte records: headers, and file data padded up to a multiple of it. */
export const TAR_RECORD = 512;

/** The largest value an 11-digit octal field holds (sizes and mtimes beyond it go to pax records). */
const MAX_OCTAL_11 = 0o77777777777;
/** The largest value a 7-digit octal field holds (uid, gid). */
const MAX_OCTAL_7 = 0o7777777;

/** What a tar header says about one entry. */
export interface TarEntryHeader {
  /** Relative, `/`-separated path, decoded as `path-bytes.ts` says; directories end with `/`. */
  path: string;
  type: "file" | "directory" | "symlink" | "hardlink";
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size in bytes (0 for directories and symlinks). */
  size: number;
  /** Modification time in whole seconds since the epoch. */
  mtime: number;
  /** Symlink target stored verbatim, or the archive path of a hard link's first name (decoded). */
  linkTarget?: string;
}

const TYPE_FLAGS = { file: "0", directory: "5", symlink: "2", hardlink: "1" } as const;

/**
 * The bytes that introduce one entry in a POSIX tar stream: a ustar header, preceded by a pax extended
 * header (`x`) when the path or link target does not fit ustar's fields, or a number exceeds its octal
 * field. File content (padded to 512 bytes) follows them.
 *
 * Names are written as their bytes (`encodePath`). ASCII names, and names that are not UTF-8, go in the
 * ustar fields when they fit: GNU tar, bsdtar, Python's tarfile and Go all read such bytes back unchanged,
 * and silently. Other UTF-8 names that do not fit go in pax `path`/`linkpath` records. Longer names that
 * are not UTF-8 go in GNU long-name records (`L`, `K`): every one of those readers restores their bytes
 * without a word, where a pax record would need `hdrcharset=BINARY` (bsdtar refuses raw bytes without it,
 * GNU tar 1.34 warns that it ignores it).
 */
export function encodeTarHeader(entry: TarEntryHeader): Buffer {
  const longNames: Buffer[] = [];
  const pax: Array<[string, Buffer]> = [];
  const fields = ustarPathFields(entry.path);
  if (fields === undefined) {
    if (hasRawBytes(entry.path)) longNames.push(gnuLongName("L", encodePath(entry.path)));
    else pax.push(["path", encodePath(entry.path)]);
  }
  const link = entry.linkTarget ?? "";
  const linkName = ustarName(link, 100);
  if (linkName === undefined) {
    if (hasRawBytes(link)) longNames.push(gnuLongName("K", encodePath(link)));
    else pax.push(["linkpath", encodePath(link)]);
  }
  if (entry.size > MAX_OCTAL_11) pax.push(["size", ascii(String(entry.size))]);
  if (entry.mtime < 0 || entry.mtime > MAX_OCTAL_11) pax.push(["mtime", ascii(String(entry.mtime))]);
  if (entry.uid > MAX_OCTAL_7) pax.push(["uid", ascii(String(entry.uid))]);
  if (entry.gid > MAX_OCTAL_7) pax.push(["gid", ascii(String(entry.gid))]);

  const header = ustarHeader({
    name: fields?.name ?? asciiFallback(entry.path),
    prefix: fields?.prefix ?? EMPTY,
    mode: entry.mode & 0o7777,
    uid: entry.uid > MAX_OCTAL_7 ? 0 : entry.uid,
    gid: entry.gid > MAX_OCTAL_7 ? 0 : entry.gid,
    size: entry.size > MAX_OCTAL_11 ? 0 : entry.size,
    mtime: clampMtime(entry.mtime),
    typeFlag: TYPE_FLAGS[entry.type],
    linkName: linkName ?? asciiFallback(link),
  });
  if (pax.length > 0) longNames.push(paxHeader(entry, pax));
  return longNames.length === 0 ? header : Buffer.concat([...longNames, header]);
}

/** GNU tar writes archives in records of 20 x 512 bytes; ending on that boundary keeps every reader happy. */
const TAR_BLOCKING = 20 * TAR_RECORD;

/**
 * Bytes of zeros that end a tar stream after `written` bytes: two zero records, then up to a whole
 * blocking record of 20 x 512 bytes, as GNU tar ends its archives.
 */
export function tarEndLength(written: number): number {
  const end = written + 2 * TAR_RECORD;
  return 2 * TAR_RECORD + ((TAR_BLOCKING - (end % TAR_BLOCKING)) % TAR_BLOCKING);
}

/** Bytes of zero padding after `size` bytes of content. */
export function tarPadding(size: number): number {
  const rest = size % TAR_RECORD;
  return rest === 0 ? 0 : TAR_RECORD - rest;
}

const EMPTY = Buffer.alloc(0);
const SLASH = 0x2f;
const LONG_LINK = ascii("././@LongLink");

function ascii(text: string): Buffer {
  return Buffer.from(text, "latin1");
}

/** The bytes of a name that goes in a ustar field of `max` bytes (see {@link encodeTarHeader}), if any. */
function ustarName(name: string, max: number): Buffer | undefined {
  if (!/^[\x00-\x7f]*$/.test(name) && !hasRawBytes(name)) return undefined;
  const bytes = encodePath(name);
  return bytes.length <= max ? bytes : undefined;
}

/**
 * ustar's `name` (100 bytes) and `prefix` (155 bytes, joined with `/`) for a path, or undefined when it
 * needs a pax `path` record.
 */
function ustarPathFields(path: string): { name: Buffer; prefix: Buffer } | undefined {
  const bytes = ustarName(path, 256);
  if (bytes === undefined) return undefined;
  if (bytes.length <= 100) return { name: bytes, prefix: EMPTY };
  // Split at the first `/` that leaves a prefix of at most 155 bytes and a name of at most 100 (a
  // directory's trailing `/` belongs to the name and is never a split point). A raw byte is never 0x2f.
  const body = bytes[bytes.length - 1] === SLASH ? bytes.length - 1 : bytes.length;
  for (
    let slash = bytes.indexOf(SLASH);
    slash !== -1 && slash < body;
    slash = bytes.indexOf(SLASH, slash + 1)
  ) {
    if (slash > 155) return undefined;
    if (bytes.length - slash - 1 <= 100 && slash > 0) {
      return { prefix: bytes.subarray(0, slash), name: bytes.subarray(slash + 1) };
    }
  }
  return undefined;
}

/** A printable ASCII stand-in for readers without pax support: the tail of the path, which names it. */
function asciiFallback(text: string): Buffer {
  const printable = text.replace(/[^\x20-\x7e]/g, "_");
  return ascii(printable.length <= 100 ? printable : printable.slice(printable.length - 100));
}

function clampMtime(mtime: number): number {
  return Math.min(Math.max(0, Math.trunc(mtime)), MAX_OCTAL_11);
}

interface UstarFields {
  name: Buffer;
  prefix: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeFlag: string;
  linkName: Buffer;
}

function ustarHeader(fields: UstarFields): Buffer {
  const block = Buffer.alloc(TAR_RECORD);
  fields.name.copy(block, 0, 0, 100);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, fields.uid);
  writeOctal(block, 116, 8, fields.gid);
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.write(fields.typeFlag, 156, 1, "latin1");
  fields.linkName.copy(block, 157, 0, 100);
  block.write("ustar\u000000", 257, 8, "latin1");
  fields.prefix.copy(block, 345, 0, 155);
  // The checksum is the byte sum with its own field read as eight spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "latin1");
  return block;
}

/** `value` as zero-padded octal filling `width - 1` digits, then NUL. */
function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, "0")}\u0000`, offset, width, "latin1");
}

/** A GNU long-name record: `L` (the next entry's path) or `K` (its link target), NUL-terminated bytes. */
function gnuLongName(typeFlag: "L" | "K", name: Buffer): Buffer {
  const size = name.length + 1;
  const header = ustarHeader({
    name: LONG_LINK,
    prefix: EMPTY,
    mode: 0,
    uid: 0,
    gid: 0,
    size,
    mtime: 0,
    typeFlag,
    linkName: EMPTY,
  });
  return Buffer.concat([header, name, Buffer.alloc(1 + tarPadding(size))]);
}

/** A pax extended header (`x`) carrying `records`, padded to whole 512-byte records. */
function paxHeader(entry: TarEntryHeader, records: Array<[string, Buffer]>): Buffer {
  const body = Buffer.concat(records.map(([key, value]) => paxRecord(key, value)));
  const baseName = entry.path.replace(/\/$/, "").split("/").pop() ?? "";
  const header = ustarHeader({
    name: Buffer.concat([ascii("PaxHeaders/"), asciiFallback(baseName)]).subarray(0, 100),
    prefix: EMPTY,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: clampMtime(entry.mtime),
    typeFlag: "x",
    linkName: EMPTY,
  });
  return Buffer.concat([header, body, Buffer.alloc(tarPadding(body.length))]);
}

/** `"<length> <key>=<value>\n"`, where length counts the whole record in bytes, its own digits included. */
export function paxRecord(key: string, value: Uint8Array): Buffer {
  const rest = key.length + value.length + 3;
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  return Buffer.concat([ascii(`${length} ${key}=`), value, ascii("\n")]);
}
