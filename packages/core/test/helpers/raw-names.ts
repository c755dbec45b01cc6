import { lutimesSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodePath } from "../../src/path-bytes.js";

/** A name from its parts: strings are UTF-8, numbers raw bytes. */
export const raw = (...parts: Array<string | number>): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.of(part))));

/** `dir/name/name...` as bytes, for `fs` calls on names that are not UTF-8 (`dir` decoded). */
export const under = (dir: string, ...names: Buffer[]): Buffer =>
  Buffer.concat([encodePath(dir), ...names.flatMap((name) => [Buffer.from("/"), name])]);

export const CAFE_E9 = raw("caf", 0xe9, ".txt");
export const CAFE_E8 = raw("caf", 0xe8, ".txt");
export const DIR_FF = raw("d", 0xff);
export const INNER_FE = raw("x", 0xfe);
export const LINK_F1 = raw("l", 0xf1);

/**
 * Two files whose names differ only in a byte that is not UTF-8 (what Wings' Go tar writes for a server
 * in Latin-1), a folder and a file inside it with such names, a UTF-8 name, and a symlink whose name and
 * target are not UTF-8. Times are whole seconds (Go's archive/tar rounds to the nearest one).
 */
export function writeRawNameTree(dir: string): void {
  writeFileSync(under(dir, CAFE_E9), "e9");
  writeFileSync(under(dir, CAFE_E8), "e8");
  writeFileSync(encodePath(join(dir, "café.txt")), "utf-8");
  mkdirSync(under(dir, DIR_FF));
  writeFileSync(under(dir, DIR_FF, INNER_FE), "inner");
  symlinkSync(CAFE_E9, under(dir, LINK_F1));
  // The folder last, once its entries are made.
  const paths = [under(dir, CAFE_E9), under(dir, CAFE_E8), encodePath(join(dir, "café.txt"))];
  paths.push(under(dir, DIR_FF, INNER_FE), under(dir, LINK_F1), under(dir, DIR_FF));
  for (const [i, path] of paths.entries()) lutimesSync(path, 1_600_000_000 + i, 1_600_000_000 + i);
}
