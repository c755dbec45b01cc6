import { decodePath } from "../path-bytes.js";
import { corruptArchive } from "./extract-errors.js";
import { BLOCK_SIZE, decodeHeader, isZeroBlock, type RawTarHeader } from "./tar-parse-header.js";
import { parsePaxRecords, parsePaxSize, parsePaxTime } from "./tar-parse-pax.js";

/** What an entry is, as far as extracting goes. */
export type TarEntryKind = "file" | "directory" | "symlink" | "hardlink" | "device" | "fifo" | "unsupported";

/**
 * One archive entry with pax and GNU long names already applied. The path is as stored, not validated;
 * names are decoded with `decodePath`, so bytes that are not UTF-8 are kept (see `path-bytes.ts`).
 */
export interface TarEntry {
  path: string;
  kind: TarEntryKind;
  /** The raw typeflag, for messages about unsupported entries. */
  typeflag: string;
  /** Bytes of data that follow the header. */
  size: number;
  mode: number;
  /** Seconds since the epoch (pax times may carry a fraction). */
  mtime: number;
  /** Symlink or hard link target ("" for other kinds). */
  linkTarget: string;
}

/** Receives a tar stream's entries in order: `onEntry`, then its data in chunks, then `onEntryEnd`. */
export interface TarSink {
  onEntry(entry: TarEntry): void;
  /** A slice of the entry's data; only valid during the call (the buffer is reused by the caller). */
  onData(chunk: Uint8Array): void;
  onEntryEnd(): void;
}

/** Largest pax or GNU long-name header kept in memory; real ones are a few hundred bytes. */
const MAX_META_BYTES = 1024 * 1024;
/** Padding accepted after the end-of-archive marker (GNU tar pads to 10 KiB records; some use 1 MiB). */
const MAX_TRAILING_BYTES = 16 * 1024 * 1024;

const KIND_BY_TYPEFLAG: Record<string, TarEntryKind> = {
  "0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "device",
  "4": "device",
  "5": "directory",
  // GNU dumpdir: a directory whose data lists its contents, which extract does not need.
  D: "directory",
  "6": "fifo",
};

type MetaKind = "pax" | "paxGlobal" | "longName" | "longLink";
const META_BY_TYPEFLAG: Record<string, MetaKind> = { x: "pax", g: "paxGlobal", L: "longName", K: "longLink" };

/**
 * A push parser for tar streams (ustar, pax `x`/`g`, GNU `L`/`K`, base-256 numbers): feed it inflated
 * bytes with {@link TarParser.push} and call {@link TarParser.end} when they stop. Memory stays flat:
 * entry data goes to the sink as slices of the pushed chunks, never collected.
 */
export class TarParser {
  private readonly sink: TarSink;
  private readonly header = new Uint8Array(BLOCK_SIZE);
  private headerFill = 0;
  /** Data bytes of the current entry or meta header still to come. */
  private remaining = 0;
  private padding = 0;
  private meta: { kind: MetaKind; bytes: Uint8Array; fill: number } | undefined;
  private inEntry = false;
  private ended = false;
  private trailing = 0;
  private pending: { pax: Map<string, string>; longName?: string; longLink?: string } = { pax: new Map() };
  private readonly globalPax = new Map<string, string>();

  constructor(sink: TarSink) {
    this.sink = sink;
  }

  /** Parses the next slice of the tar stream; throws `INVALID_INPUT` when the stream is not valid tar. */
  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.ended) {
        this.trailing += chunk.length - offset;
        if (this.trailing > MAX_TRAILING_BYTES)
          throw corruptArchive("data follows the end-of-archive marker");
        return;
      }
      if (this.remaining > 0) offset = this.consumeData(chunk, offset);
      else if (this.padding > 0) {
        const skip = Math.min(this.padding, chunk.length - offset);
        this.padding -= skip;
        offset += skip;
      } else offset = this.consumeHeader(chunk, offset);
    }
  }

  /** Signals the end of the stream; throws `INVALID_INPUT` if it stopped before the end-of-archive marker. */
  end(): void {
    if (this.ended) return;
    if (this.remaining > 0 || this.padding > 0 || this.inEntry) {
      throw corruptArchive("the archive stops in the middle of an entry");
    }
    throw corruptArchive("the archive stops before its end-of-archive marker");
  }

  private consumeData(chunk: Uint8Array, offset: number): number {
    const take = Math.min(this.remaining, chunk.length - offset);
    const slice = chunk.subarray(offset, offset + take);
    this.remaining -= take;
    if (this.meta) {
      this.meta.bytes.set(slice, this.meta.fill);
      this.meta.fill += take;
      if (this.remaining === 0) this.finishMeta();
    } else {
      this.sink.onData(slice);
      if (this.remaining === 0) this.finishEntry();
    }
    return offset + take;
  }

  private consumeHeader(chunk: Uint8Array, offset: number): number {
    let block: Uint8Array;
    if (this.headerFill === 0 && chunk.length - offset >= BLOCK_SIZE) {
      block = chunk.subarray(offset, offset + BLOCK_SIZE);
      offset += BLOCK_SIZE;
    } else {
      const take = Math.min(BLOCK_SIZE - this.headerFill, chunk.length - offset);
      this.header.set(chunk.subarray(offset, offset + take), this.headerFill);
      this.headerFill += take;
      offset += take;
      if (this.headerFill < BLOCK_SIZE) return offset;
      this.headerFill = 0;
      block = this.header;
    }
    if (isZeroBlock(block)) {
      // One zero block is enough to end it, as GNU tar reads it; the rest counts as trailing padding.
      this.ended = true;
      return offset;
    }
    this.startHeader(decodeHeader(block));
    return offset;
  }

  private startHeader(raw: RawTarHeader): void {
    const metaKind = META_BY_TYPEFLAG[raw.typeflag];
    if (metaKind) {
      if (raw.size > MAX_META_BYTES) throw corruptArchive("a pax or long-name header is implausibly large");
      this.meta = { kind: metaKind, bytes: new Uint8Array(raw.size), fill: 0 };
      this.setData(raw.size);
      if (raw.size === 0) this.finishMeta();
      return;
    }
    if (raw.typeflag === "V") {
      // A volume label names the archive, not an entry.
      this.setData(raw.size);
      this.pending = { pax: new Map() };
      return;
    }
    const entry = this.buildEntry(raw);
    this.pending = { pax: new Map() };
    this.inEntry = true;
    this.sink.onEntry(entry);
    this.setData(entry.size);
    if (entry.size === 0) this.finishEntry();
  }

  private buildEntry(raw: RawTarHeader): TarEntry {
    const pax = new Map([...this.globalPax, ...this.pending.pax]);
    const paxPath = pax.get("path");
    const paxLink = pax.get("linkpath");
    const paxSize = pax.get("size");
    const paxMtime = pax.get("mtime");
    const sparse = [...pax.keys()].some((key) => key.startsWith("GNU.sparse."));
    let kind: TarEntryKind = KIND_BY_TYPEFLAG[raw.typeflag] ?? "unsupported";
    if (sparse) kind = "unsupported";
    let path = paxPath ?? this.pending.longName ?? raw.name;
    // Old tars mark directories only by a trailing slash on a regular-file entry.
    if (kind === "file" && raw.typeflag !== "7" && path.endsWith("/")) kind = "directory";
    if (kind === "directory") path = path.replace(/\/+$/, "");
    return {
      path,
      kind,
      typeflag: raw.typeflag,
      size: paxSize === undefined ? raw.size : parsePaxSize(paxSize),
      mode: raw.mode,
      mtime: paxMtime === undefined ? raw.mtime : parsePaxTime(paxMtime),
      linkTarget:
        kind === "symlink" || kind === "hardlink" ? (paxLink ?? this.pending.longLink ?? raw.linkname) : "",
    };
  }

  private setData(size: number): void {
    this.remaining = size;
    this.padding = (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
  }

  private finishMeta(): void {
    const meta = this.meta;
    if (!meta) return;
    this.meta = undefined;
    if (meta.kind === "pax") for (const [k, v] of parsePaxRecords(meta.bytes)) this.pending.pax.set(k, v);
    else if (meta.kind === "paxGlobal")
      for (const [k, v] of parsePaxRecords(meta.bytes)) this.globalPax.set(k, v);
    else {
      // GNU long names are C strings: the name stops at the first NUL.
      const nul = meta.bytes.indexOf(0);
      const value = decodePath(nul < 0 ? meta.bytes : meta.bytes.subarray(0, nul));
      if (meta.kind === "longName") this.pending.longName = value;
      else this.pending.longLink = value;
    }
  }

  private finishEntry(): void {
    this.inEntry = false;
    this.sink.onEntryEnd();
  }
}
