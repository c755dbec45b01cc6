import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { decodePath, encodePath } from "../../path-bytes.js";

/** Records are written once this many bytes wait in memory. */
const FLUSH_BYTES = 64 * 1024;
/** Bytes read at a time when the journal is replayed. */
const READ_BYTES = 64 * 1024;

/** One entry a merge moved in: `path`, and where the entry it replaced went (`undefined`: none was there). */
export interface JournalRecord {
  path: string;
  aside: string | undefined;
}

/**
 * The moves a merge has made, kept in a file so that undoing them needs no memory that grows with the
 * tree. Records are NUL-separated (a path never holds a NUL) and written in batches. A record that could
 * not be written (a full disk) is kept in memory and still replayed.
 */
export class SwapJournal {
  private readonly fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of records taken out of `pending` that are not in the file yet. */
  private unwritten = Buffer.alloc(0);

  constructor(private readonly file: string) {
    this.fd = openSync(file, "wx+", 0o600);
  }

  /** Notes a move; the record is kept even when writing the batch it completes fails (and throws). */
  record(entry: JournalRecord): void {
    // Paths are written as their bytes, so a name that is not UTF-8 is replayed unchanged.
    const line = encodePath(`${entry.aside ?? ""}\0${entry.path}\0`);
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  /** Every record, in the order recorded, read back in slices. */
  *replay(): Generator<JournalRecord> {
    try {
      this.flush();
    } catch {
      // What could not be written is replayed from memory, after the file.
    }
    const fields = new FieldReader();
    const buffer = Buffer.alloc(READ_BYTES);
    for (let position = 0; ; ) {
      const read = readSync(this.fd, buffer, 0, buffer.length, position);
      if (read === 0) break;
      position += read;
      yield* fields.push(buffer.subarray(0, read));
    }
    yield* fields.push(this.unwritten);
  }

  /** Closes and deletes the journal. */
  dispose(): void {
    closeSync(this.fd);
    rmSync(this.file, { force: true });
  }

  private flush(): void {
    if (this.pending.length > 0) {
      this.unwritten = Buffer.concat([this.unwritten, ...this.pending]);
      this.pending = [];
      this.pendingBytes = 0;
    }
    while (this.unwritten.length > 0)
      this.unwritten = this.unwritten.subarray(writeSync(this.fd, this.unwritten));
  }
}

/** Turns slices of journal bytes into records, carrying a field cut between two slices over. */
class FieldReader {
  private carry = Buffer.alloc(0);
  private aside: string | undefined;

  *push(slice: Buffer): Generator<JournalRecord> {
    const bytes = this.carry.length === 0 ? slice : Buffer.concat([this.carry, slice]);
    let start = 0;
    for (let end = bytes.indexOf(0); end !== -1; end = bytes.indexOf(0, start)) {
      const field = decodePath(bytes.subarray(start, end));
      start = end + 1;
      if (this.aside === undefined) this.aside = field;
      else {
        yield { aside: this.aside === "" ? undefined : this.aside, path: field };
        this.aside = undefined;
      }
    }
    this.carry = Buffer.from(bytes.subarray(start));
  }
}
