import { StrongboxError } from "../../errors.js";
import { corruptArchive } from "../extract/extract-errors.js";
import { readNumber } from "./tar-parse-header.js";
import { parseSparseNumber, SparseMap, SparseMapText } from "./tar-sparse-map.js";

/**
 * How a sparse file's map reaches the parser: complete (`map`), still to come in old GNU extension
 * blocks (`extended`), or at the start of the file's data (`text`, pax format 1.0).
 */
export interface SparseStart {
  map: SparseMap;
  /** Old GNU: extension blocks follow the header, before the data. */
  extended: boolean;
  /** Pax 1.0: the map is the first part of the entry's data. */
  text: SparseMapText | undefined;
  /** The real name, when the header holds a stand-in (`GNUSparseFile.0/...`). */
  name: string | undefined;
}

/** Runs in an old GNU header, and in each extension block. */
const HEADER_RUNS = 4;
const EXTENSION_RUNS = 21;
const RUN_BYTES = 24;

/** The map an old GNU sparse header (`S`) starts: four runs, the flag for more, and the real size. */
export function startOldGnuSparse(block: Uint8Array, maxRuns: number): SparseStart {
  const map = new SparseMap(readNumber(block, 483, 12, "sparse real size"), maxRuns);
  addRuns(block, 386, HEADER_RUNS, map);
  return { map, extended: block[482] !== 0, text: undefined, name: undefined };
}

/** Adds the runs of one old GNU extension block; returns whether another block follows. */
export function addOldGnuExtension(block: Uint8Array, map: SparseMap): boolean {
  addRuns(block, 0, EXTENSION_RUNS, map);
  return block[EXTENSION_RUNS * RUN_BYTES] !== 0;
}

function addRuns(block: Uint8Array, start: number, count: number, map: SparseMap): void {
  for (let i = 0; i < count; i++) {
    const at = start + i * RUN_BYTES;
    // An empty slot ends the list, as GNU tar reads it.
    if (block[at + 12] === 0) return;
    map.add(readNumber(block, at, 12, "sparse offset"), readNumber(block, at + 12, 12, "sparse length"));
  }
}

/**
 * The map of a pax sparse file (GNU tar formats 0.0, 0.1 and 1.0, bsdtar's 1.0), or `undefined` when
 * the pax records describe no sparse file. `runs0` are the repeated `GNU.sparse.offset` and
 * `GNU.sparse.numbytes` records of format 0.0, as key and value, in order.
 */
export function startPaxSparse(
  pax: ReadonlyMap<string, string>,
  runs0: readonly (readonly [string, string])[],
  maxRuns: number,
): SparseStart | undefined {
  const major = pax.get("GNU.sparse.major");
  const realSize = pax.get("GNU.sparse.realsize") ?? pax.get("GNU.sparse.size");
  if (major === undefined && realSize === undefined && runs0.length === 0) return undefined;
  const version = `${major ?? "0"}.${pax.get("GNU.sparse.minor") ?? (pax.has("GNU.sparse.map") ? "1" : "0")}`;
  if (version !== "0.0" && version !== "0.1" && version !== "1.0") {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The archive holds a sparse file in GNU sparse format ${version}, which Strongbox cannot read; extract it with GNU tar.`,
      { details: { sparseVersion: version } },
    );
  }
  if (realSize === undefined) throw corruptArchive("a sparse file does not give its real size");
  const map = new SparseMap(parseSparseNumber(realSize), maxRuns);
  const name = pax.get("GNU.sparse.name");
  if (version === "1.0") return { map, extended: false, text: new SparseMapText(map), name };
  const numbers = version === "0.1" ? splitMap(pax.get("GNU.sparse.map") ?? "") : valuesOf(runs0);
  const declared = pax.get("GNU.sparse.numblocks");
  const count = numbers.length / 2;
  if (!Number.isInteger(count) || (declared !== undefined && parseSparseNumber(declared) !== count)) {
    throw corruptArchive("a sparse file's map does not have the number of runs it declares");
  }
  map.expectRuns(count);
  for (let i = 0; i < numbers.length; i += 2) {
    map.add(parseSparseNumber(numbers[i] ?? ""), parseSparseNumber(numbers[i + 1] ?? ""));
  }
  return { map, extended: false, text: undefined, name };
}

function splitMap(text: string): string[] {
  return text === "" ? [] : text.split(",");
}

/** The values of format 0.0's records, checked to alternate offset, length, offset, length... */
function valuesOf(runs0: readonly (readonly [string, string])[]): string[] {
  return runs0.map(([key, value], i) => {
    if (key !== (i % 2 === 0 ? "GNU.sparse.offset" : "GNU.sparse.numbytes")) {
      throw corruptArchive("a sparse file's map records are out of order");
    }
    return value;
  });
}
