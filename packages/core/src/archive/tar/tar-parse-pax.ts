import { decodePath } from "../../path-bytes.js";
import { corruptArchive } from "../extract/extract-errors.js";

const utf8 = new TextDecoder("utf-8");

/**
 * Parses the records of a pax extended header, in order (`"<length> <key>=<value>\n"`, length in bytes including
 * itself). Values are decoded with {@link decodePath}: a `path` or `linkpath` holding raw bytes (as with
 * `hdrcharset=BINARY`, or from writers that do not say so) keeps them, and UTF-8 reads as UTF-8 either way.
 * Throws `INVALID_INPUT` on a malformed record, since that means the stream is damaged.
 */
export function parsePaxRecords(data: Uint8Array): Array<[string, string]> {
  // A list, not a map: sparse format 0.0 repeats its keys, and their order matters.
  const records: Array<[string, string]> = [];
  let pos = 0;
  while (pos < data.length) {
    // Trailing NUL padding ends the records.
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    if (space < 0) throw corruptArchive("a pax header record has no length");
    const length = Number(utf8.decode(data.subarray(pos, space)));
    if (!Number.isSafeInteger(length) || length <= space - pos || pos + length > data.length) {
      throw corruptArchive("a pax header record has a bad length");
    }
    const end = pos + length;
    if (data[end - 1] !== 0x0a) throw corruptArchive("a pax header record is not terminated");
    const record = data.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals < 1) throw corruptArchive("a pax header record has no key");
    records.push([utf8.decode(record.subarray(0, equals)), decodePath(record.subarray(equals + 1))]);
    pos = end;
  }
  return records;
}

/** Parses a pax decimal number of seconds (may carry a fraction or a sign). */
export function parsePaxTime(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds)) throw corruptArchive("a pax header has a bad mtime");
  return seconds;
}

/** Parses a pax decimal size. */
export function parsePaxSize(value: string): number {
  const size = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(size))
    throw corruptArchive("a pax header has a bad size");
  return size;
}
