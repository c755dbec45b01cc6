import { readSync } from "node:fs";
import { looksCompressed } from "../gzip/deflate-incompressible.js";
import { tarEndLength, tarPadding } from "./tar-header.js";

/**
 * File content shorter than this (within one block) is never marked incompressible: storing it saves
 * less than switching between stored and deflated pieces costs.
 */
const MIN_INCOMPRESSIBLE_BYTES = 1024;

/**
 * Receives each filled block (one that the allocator handed out).
 * `incompressible` lists the block's file contents that look already compressed, as sorted, disjoint
 * `[start, end)` pairs, so the compressor can store them instead of deflating them.
 */
export type BlockSink = (block: Buffer, length: number, incompressible: Uint32Array) => void;

/** How reading one file's content went. */
export interface FileDataResult {
  /** Bytes read from the file; fewer than asked when it shrank or a read failed (zeros fill the rest). */
  read: number;
  /** The read error, when one stopped reading early. */
  error?: NodeJS.ErrnoException;
}

/**
 * Writes a tar stream into fixed-size blocks with synchronous reads: file content goes straight from
 * the file into the block being filled, with no intermediate copy. Every write is a multiple of 512
 * bytes and the block size is too, so headers never straddle blocks.
 */
export class TarBlockWriter {
  private readonly blockSize: number;
  private block: Buffer;
  private position = 0;
  private total = 0;
  /** Where the content of the file being read starts in the current block, or -1 outside file content. */
  private contentStart = -1;
  /** `[start, end)` pairs of the current block's incompressible file content. */
  private incompressible: number[] = [];

  /**
   * @param allocate - gives each block to fill; their size is a multiple of 512.
   * @param sink - receives each full block (and the last, partial one).
   * @param onContent - told how many content bytes were just written, for progress counters.
   * @param checkCancelled - throws to stop a long read between blocks.
   * @param findIncompressible - sample each file's content to mark what looks incompressible.
   */
  constructor(
    private readonly allocate: () => Buffer,
    private readonly sink: BlockSink,
    private readonly onContent: (bytes: number) => void,
    private readonly checkCancelled: () => void,
    private readonly findIncompressible: boolean,
  ) {
    this.block = allocate();
    this.blockSize = this.block.length;
  }

  /** Appends bytes (headers), copying across block boundaries. */
  write(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      const count = Math.min(bytes.length - offset, this.blockSize - this.position);
      bytes.copy(this.block, this.position, offset, offset + count);
      this.advance(count);
      offset += count;
    }
  }

  /**
   * Appends exactly `size` bytes of the file behind `fd`, then padding. Never more than `size` (a file
   * that grew is cut) and never less (a file that shrank or failed to read is filled with zeros), so
   * the header stays true and the archive stays readable.
   */
  writeFileData(fd: number, size: number): FileDataResult {
    let read = 0;
    let error: NodeJS.ErrnoException | undefined;
    this.contentStart = this.position;
    while (read < size && error === undefined) {
      this.checkCancelled();
      const want = Math.min(size - read, this.blockSize - this.position);
      let got: number;
      try {
        got = readSync(fd, this.block, this.position, want, null);
      } catch (cause) {
        error = cause as NodeJS.ErrnoException;
        break;
      }
      if (got === 0) break;
      read += got;
      this.onContent(got);
      this.advance(got);
    }
    this.judgeContent();
    this.contentStart = -1;
    this.zeros(size - read, true);
    this.zeros(tarPadding(size), false);
    return error === undefined ? { read } : { read, error };
  }

  /** Ends the archive: two zero records, then zeros up to a whole tar blocking record, then flushes. */
  finish(): void {
    this.zeros(tarEndLength(this.total), false);
    if (this.position > 0) this.flush();
  }

  /** Notes the file content read into the current block so far as incompressible when it looks so. */
  private judgeContent(): void {
    const start = this.contentStart;
    const end = this.position;
    if (!this.findIncompressible || start < 0 || end - start < MIN_INCOMPRESSIBLE_BYTES) return;
    if (!looksCompressed(this.block, start, end)) return;
    const last = this.incompressible.length - 1;
    // Contents of adjacent files merge into one range (a header between them keeps them apart).
    if (last > 0 && this.incompressible[last] === start) this.incompressible[last] = end;
    else this.incompressible.push(start, end);
  }

  private flush(): void {
    this.judgeContent();
    const ranges = Uint32Array.from(this.incompressible);
    this.incompressible = [];
    this.sink(this.block, this.position, ranges);
  }

  private zeros(count: number, content: boolean): void {
    let left = count;
    while (left > 0) {
      const n = Math.min(left, this.blockSize - this.position);
      this.block.fill(0, this.position, this.position + n);
      if (content) this.onContent(n);
      this.advance(n);
      left -= n;
    }
  }

  private advance(count: number): void {
    this.position += count;
    this.total += count;
    if (this.position === this.blockSize) {
      this.flush();
      this.block = this.allocate();
      this.position = 0;
      if (this.contentStart >= 0) this.contentStart = 0;
    }
  }
}
