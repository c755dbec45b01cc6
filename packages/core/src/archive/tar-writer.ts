import { readSync } from "node:fs";
import { TAR_RECORD, tarPadding } from "./tar-header.js";

/** GNU tar writes archives in records of 20 x 512 bytes; ending on that boundary keeps every reader happy. */
const TAR_BLOCKING = 20 * TAR_RECORD;

/** Receives each filled block; `block` owns its whole ArrayBuffer, so it can be transferred. */
export type BlockSink = (block: Buffer, length: number) => void;

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
  private block: Buffer;
  private position = 0;
  private total = 0;

  /**
   * @param blockSize - a multiple of 512.
   * @param sink - receives each full block (and the last, partial one).
   * @param onContent - told how many content bytes were just written, for progress counters.
   * @param checkCancelled - throws to stop a long read between blocks.
   */
  constructor(
    private readonly blockSize: number,
    private readonly sink: BlockSink,
    private readonly onContent: (bytes: number) => void,
    private readonly checkCancelled: () => void,
  ) {
    this.block = Buffer.allocUnsafeSlow(blockSize);
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
    this.zeros(size - read, true);
    this.zeros(tarPadding(size), false);
    return error === undefined ? { read } : { read, error };
  }

  /** Ends the archive: two zero records, then zeros up to a whole tar blocking record, then flushes. */
  finish(): void {
    this.zeros(2 * TAR_RECORD, false);
    this.zeros((TAR_BLOCKING - (this.total % TAR_BLOCKING)) % TAR_BLOCKING, false);
    if (this.position > 0) this.sink(this.block, this.position);
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
      this.sink(this.block, this.position);
      this.block = Buffer.allocUnsafeSlow(this.blockSize);
      this.position = 0;
    }
  }
}
