/** Tar works in 512-byte records: headers, and file data padded up to a multiple of it. */
export const TAR_RECORD = 512;

/** The largest value an 11-digit octal field holds (sizes and mtimes beyond it go to pax records). */
const MAX_OCTAL_11 = 0o77777777777;
/** The largest value a 7-digit octal field holds (uid, gid). */
const MAX_OCTAL_7 = 0o7777777;

/** What a tar header says about one entry. */
export interface TarEntryHeader {
  /** Relative, `/`-separated path; directories end with `/`. */
  path: string;
  type: "file" | "directory" | "symlink";
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size in bytes (0 for directories and symlinks). */
  size: number;
  /** Modification time in whole seconds since the epoch. */
  mtime: number;
  /** Symlink target, stored verbatim. */
  linkTarget?: string;
}

const TYPE_FLAGS = { file: "0", directory: "5", symlink: "2" } as const;

/**
 * The bytes that introduce one entry in a POSIX tar stream: a ustar header, preceded by a pax extended
 * header (`x`) when the path or link target is not ASCII or does not fit ustar's fields, or a number
 * exceeds its octal field. File content (padded to 512 bytes) follows them.
 */
export function encodeTarHeader(entry: TarEntryHeader): Buffer {
  const pax: Array<[string, string]> = [];
  const fields = ustarPathFields(entry.path);
  if (fields === undefined) pax.push(["path", entry.path]);
  const link = entry.linkTarget ?? "";
  if (!fitsAscii(link, 100)) pax.push(["linkpath", link]);
  if (entry.size > MAX_OCTAL_11) pax.push(["size", String(entry.size)]);
  if (entry.mtime < 0 || entry.mtime > MAX_OCTAL_11) pax.push(["mtime", String(entry.mtime)]);
  if (entry.uid > MAX_OCTAL_7) pax.push(["uid", String(entry.uid)]);
  if (entry.gid > MAX_OCTAL_7) pax.push(["gid", String(entry.gid)]);

  const header = ustarHeader({
    name: fields?.name ?? asciiFallback(entry.path),
    prefix: fields?.prefix ?? "",
    mode: entry.mode & 0o7777,
    uid: entry.uid > MAX_OCTAL_7 ? 0 : entry.uid,
    gid: entry.gid > MAX_OCTAL_7 ? 0 : entry.gid,
    size: entry.size > MAX_OCTAL_11 ? 0 : entry.size,
    mtime: clampMtime(entry.mtime),
    typeFlag: TYPE_FLAGS[entry.type],
    linkName: fitsAscii(link, 100) ? link : asciiFallback(link),
  });
  if (pax.length === 0) return header;
  return Buffer.concat([paxHeader(entry, pax), header]);
}

/** Bytes of zero padding after `size` bytes of content. */
export function tarPadding(size: number): number {
  const rest = size % TAR_RECORD;
  return rest === 0 ? 0 : TAR_RECORD - rest;
}

/** A string of ASCII characters of at most `max` bytes (ASCII iff UTF-8 length equals string length). */
function fitsAscii(text: string, max: number): boolean {
  return text.length <= max && Buffer.byteLength(text) === text.length;
}

/**
 * ustar's `name` (100 bytes) and `prefix` (155 bytes, joined with `/`) for an ASCII path, or undefined
 * when it needs a pax `path` record.
 */
function ustarPathFields(path: string): { name: string; prefix: string } | undefined {
  if (fitsAscii(path, 100)) return { name: path, prefix: "" };
  if (!fitsAscii(path, 256)) return undefined;
  // Split at the first `/` that leaves a prefix of at most 155 bytes and a name of at most 100 (a
  // directory's trailing `/` belongs to the name and is never a split point).
  const body = path.endsWith("/") ? path.length - 1 : path.length;
  for (let slash = path.indexOf("/"); slash !== -1 && slash < body; slash = path.indexOf("/", slash + 1)) {
    if (slash > 155) return undefined;
    if (path.length - slash - 1 <= 100 && slash > 0) {
      return { prefix: path.slice(0, slash), name: path.slice(slash + 1) };
    }
  }
  return undefined;
}

/** A printable ASCII stand-in for readers without pax support: the tail of the path, which names it. */
function asciiFallback(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, "_");
  return ascii.length <= 100 ? ascii : ascii.slice(ascii.length - 100);
}

function clampMtime(mtime: number): number {
  return Math.min(Math.max(0, Math.trunc(mtime)), MAX_OCTAL_11);
}

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeFlag: string;
  linkName: string;
}

function ustarHeader(fields: UstarFields): Buffer {
  const block = Buffer.alloc(TAR_RECORD);
  block.write(fields.name, 0, 100, "latin1");
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, fields.uid);
  writeOctal(block, 116, 8, fields.gid);
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.write(fields.typeFlag, 156, 1, "latin1");
  block.write(fields.linkName, 157, 100, "latin1");
  block.write("ustar\u000000", 257, 8, "latin1");
  block.write(fields.prefix, 345, 155, "latin1");
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

/** A pax extended header (`x`) carrying `records`, padded to whole 512-byte records. */
function paxHeader(entry: TarEntryHeader, records: Array<[string, string]>): Buffer {
  const body = Buffer.from(records.map(([key, value]) => paxRecord(key, value)).join(""), "utf8");
  const baseName = entry.path.replace(/\/$/, "").split("/").pop() ?? "";
  const header = ustarHeader({
    name: `PaxHeaders/${asciiFallback(baseName)}`.slice(0, 100),
    prefix: "",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: clampMtime(entry.mtime),
    typeFlag: "x",
    linkName: "",
  });
  return Buffer.concat([header, body, Buffer.alloc(tarPadding(body.length))]);
}

/** `"<length> <key>=<value>\n"`, where length counts the whole record, its own digits included. */
export function paxRecord(key: string, value: string): string {
  const rest = Buffer.byteLength(` ${key}=${value}\n`);
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  return `${length} ${key}=${value}\n`;
}
