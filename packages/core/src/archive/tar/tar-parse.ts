import { decodePath } from "../../path-bytes.js";
import { corruptArchive } from "../extract/extract-errors.js";
import { DEFAULT_EXTRACT_LIMITS } from "../extract/extract-limits.js";
import { BLOCK_SIZE, decodeHeader, isZeroBlock, type RawTarHeader } from "./tar-parse-header.js";
import { parsePaxRecords, parsePaxSize, parsePaxTime } from "./tar-parse-pax.js";
import {
  addOldGnuExtension,
  type SparseStart,
  startOldGnuSparse,
  startPaxSparse,
} from "./tar-parse-sparse.js";

/** What an entry is, as far as extracting goes. */
export type TarEntryKind = "file" | "directory" | "symlink" | "hardlink" | "device" | "fifo" | "unsupported";

/**
 * One archive entry with pax and GNU long names already applied. The path is as stored, not validated;
 * names are decoded with `decodePath`, so bytes that are not UTF-8 are kept (see `path-bytes.ts`).
 */
export interface TarEntry {
  path: string;
  kind: TarEntryKind;
  /** The raw typeflag, for messages about unsupported entries (`M` for a pax multi-volume continuation). */
  typeflag: string;
  /** Size of the file's content; for a sparse file its real size, holes included. */
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
  /**
   * A slice of the entry's data and where it goes in the file; only valid during the call (the buffer is
   * reused by the caller). Positions only grow; a sparse file's holes are the gaps between them.
   */
  onData(chunk: Uint8Array, position: number): void;
  onEntryEnd(): void;
}

/** Largest pax or GNU long-name header kept in memory; real ones are a few hundred bytes. */
const MAX_META_BYTES = 1024 * 1024;
/** Padding accepted after the end-of-archive marker (GNU tar pads to 10 KiB records; some use 1 MiB). */
const MAX_TRAILING_BYTES = 16 * 1024 * 1024;

const KIND_BY_TYPEFLAG: Record<string, TarEntryKind> = {
  "0": "file",
  "7": "file",
  // Old GNU sparse file: its map is in the header and the extension blocks after it.
  S: "file",
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
// Solaris `X` headers carry pax records; GNU tar reads them as `x`.
const META_BY_TYPEFLAG: Record<string, MetaKind> = {
  x: "pax",
  X: "pax",
  g: "paxGlobal",
  L: "longName",
  K: "longLink",
};
/** Pax keys that sparse format 0.0 repeats once per run. */
const SPARSE_0_RUN_KEYS = new Set(["GNU.sparse.offset", "GNU.sparse.numbytes"]);

/** Options of {@link TarParser}. */
export interface TarParserOptions {
  /** Most data runs accepted in one sparse file's map (default: the extract default). */
  maxSparseRuns?: number;
}

/** A sparse file whose map is being read or whose data is streaming. */
interface SparseEntry extends SparseStart {
  entry: TarEntry;
  /** Bytes the archive stores for the entry (with pax 1.0, the map too). */
  stored: number;
}

interface PendingHeaders {
  pax: Map<string, string>;
  /** Sparse format 0.0's repeated run records, in order. */
  runs0: Array<[string, string]>;
  longName?: string;
  longLink?: string;
}

/**
 * A push parser for tar streams (ustar, pax `x`/`g`, GNU `L`/`K`, base-256 numbers, GNU and pax sparse
 * files): feed it inflated bytes with {@link TarParser.push} and call {@link TarParser.end} when they
 * stop. Memory stays flat: entry data goes to the sink as slices of the pushed chunks, never collected,
 * and a sparse map is held as numbers, at most `maxSparseRuns` of them.
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
  private pending: PendingHeaders = { pax: new Map(), runs0: [] };
  private readonly globalPax = new Map<string, string>();
  private readonly maxSparseRuns: number;
  private sparse: SparseEntry | undefined;
  /** Where the next data byte of a file that is not sparse goes. */
  private position = 0;
  private readonly place = (slice: Uint8Array, position: number): void => this.sink.onData(slice, position);

  constructor(sink: TarSink, options: TarParserOptions = {}) {
    this.sink = sink;
    this.maxSparseRuns = options.maxSparseRuns ?? DEFAULT_EXTRACT_LIMITS.maxSparseRuns;
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
    let take = Math.min(this.remaining, chunk.length - offset);
    const slice = chunk.subarray(offset, offset + take);
    const mapText = this.sparse?.text;
    if (mapText && !mapText.done) {
      take = mapText.consume(slice);
      this.remaining -= take;
      if (mapText.done) this.beginSparseData(this.remaining);
      else if (this.remaining === 0) throw corruptArchive("a sparse file's map is cut short");
      return offset + take;
    }
    this.remaining -= take;
    if (this.meta) {
      this.meta.bytes.set(slice, this.meta.fill);
      this.meta.fill += take;
      if (this.remaining === 0) this.finishMeta();
    } else {
      if (this.sparse) this.sparse.map.place(slice, this.place);
      else this.sink.onData(slice, this.position);
      this.position += take;
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
    if (this.sparse?.extended) {
      this.readSparseExtension(this.sparse, block);
      return offset;
    }
    if (isZeroBlock(block)) {
      // One zero block is enough to end it, as GNU tar reads it; the rest counts as trailing padding.
      this.ended = true;
      return offset;
    }
    this.startHeader(decodeHeader(block), block);
    return offset;
  }

  private startHeader(raw: RawTarHeader, block: Uint8Array): void {
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
      this.pending = { pax: new Map(), runs0: [] };
      return;
    }
    const pax = new Map([...this.globalPax, ...this.pending.pax]);
    const entry = this.buildEntry(raw, pax);
    const sparse = entry.kind === "file" ? this.startSparse(raw, block, pax) : undefined;
    this.pending = { pax: new Map(), runs0: [] };
    this.inEntry = true;
    if (sparse) {
      this.startSparseEntry(entry, sparse);
      return;
    }
    this.sink.onEntry(entry);
    this.setData(entry.size);
    if (entry.size === 0) this.finishEntry();
  }

  private startSparse(
    raw: RawTarHeader,
    block: Uint8Array,
    pax: Map<string, string>,
  ): SparseStart | undefined {
    if (raw.typeflag === "S") return startOldGnuSparse(block, this.maxSparseRuns);
    return startPaxSparse(pax, this.pending.runs0, this.maxSparseRuns);
  }

  /**
   * A sparse file's entry, with its real name and size, goes to the sink once its map is complete: now,
   * or after the old GNU extension blocks, or after the pax 1.0 map at the start of its data.
   */
  private startSparseEntry(entry: TarEntry, sparse: SparseStart): void {
    const stored = entry.size;
    this.sparse = { ...sparse, entry, stored };
    entry.size = sparse.map.realSize;
    if (sparse.name !== undefined) entry.path = sparse.name;
    if (sparse.text) {
      if (stored === 0) throw corruptArchive("a sparse file's map is missing");
      this.setData(stored);
    } else if (!sparse.extended) this.beginSparseData(stored);
  }

  private readSparseExtension(sparse: SparseEntry, block: Uint8Array): void {
    sparse.extended = addOldGnuExtension(block, sparse.map);
    if (!sparse.extended) this.beginSparseData(sparse.stored);
  }

  /** Once the map is complete: checks it against the data stored, then hands the entry to the sink. */
  private beginSparseData(storedData: number): void {
    const sparse = this.sparse;
    if (!sparse) return;
    if (sparse.map.storedBytes !== storedData) {
      throw corruptArchive("a sparse file's map does not match the data stored for it", {
        path: sparse.entry.path,
      });
    }
    this.sink.onEntry(sparse.entry);
    // With pax 1.0 the data follows the map inside the same entry: its length and padding are set.
    if (!sparse.text) this.setData(storedData);
    if (storedData === 0) this.finishEntry();
  }

  private buildEntry(raw: RawTarHeader, pax: Map<string, string>): TarEntry {
    const paxPath = pax.get("path");
    const paxLink = pax.get("linkpath");
    const paxSize = pax.get("size");
    const paxMtime = pax.get("mtime");
    // A pax multi-volume archive marks a file continued from the previous volume by its offset there.
    const typeflag = pax.has("GNU.volume.offset") ? "M" : raw.typeflag;
    let kind: TarEntryKind = KIND_BY_TYPEFLAG[typeflag] ?? "unsupported";
    let path = paxPath ?? this.pending.longName ?? raw.name;
    // Old tars mark directories only by a trailing slash on a regular-file entry.
    if (kind === "file" && raw.typeflag !== "7" && path.endsWith("/")) kind = "directory";
    if (kind === "directory") path = path.replace(/\/+$/, "");
    return {
      path,
      kind,
      typeflag,
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
    if (meta.kind === "pax") {
      for (const [k, v] of parsePaxRecords(meta.bytes)) {
        if (SPARSE_0_RUN_KEYS.has(k)) this.pending.runs0.push([k, v]);
        else this.pending.pax.set(k, v);
      }
    } else if (meta.kind === "paxGlobal") {
      // A multi-volume archive's `GNU.volume.*` describe the volume's first entry only.
      for (const [k, v] of parsePaxRecords(meta.bytes)) {
        if (k.startsWith("GNU.volume.")) this.pending.pax.set(k, v);
        else this.globalPax.set(k, v);
      }
    } else {
      // GNU long names are C strings: the name stops at the first NUL.
      const nul = meta.bytes.indexOf(0);
      const value = decodePath(nul < 0 ? meta.bytes : meta.bytes.subarray(0, nul));
      if (meta.kind === "longName") this.pending.longName = value;
      else this.pending.longLink = value;
    }
  }

  private finishEntry(): void {
    this.inEntry = false;
    this.sparse = undefined;
    this.position = 0;
    this.sink.onEntryEnd();
  }
}
