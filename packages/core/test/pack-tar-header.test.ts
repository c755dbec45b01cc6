import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { encodeTarHeader, paxRecord, type TarEntryHeader } from "../src/archive/tar/tar-header.js";
import { run, useTempDirs } from "./helpers/tree.js";

const tempDir = useTempDirs();

const base: TarEntryHeader = { path: "f", type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 };

/** What `tar -tv --numeric-owner` prints for a tar stream, even when the stream is cut short. */
async function gnuListing(tar: Buffer): Promise<string> {
  const file = join(await tempDir(), "t.tar");
  await writeFile(file, tar);
  try {
    return (await run("tar", ["-tv", "--numeric-owner", "--full-time", "-f", file])).stdout;
  } catch (error) {
    // A header that promises 8 GiB of data we did not write ends in "Unexpected EOF": listing came first.
    return (error as { stdout: string }).stdout;
  }
}

describe("tar headers", () => {
  test("pax records declare their own length exactly, across digit-count boundaries", () => {
    for (let length = 0; length < 1200; length++) {
      const record = paxRecord("path", Buffer.from("é".repeat(length % 7) + "a".repeat(length)));
      expect(Number(record.toString().split(" ")[0])).toBe(record.length);
    }
  });

  test("a plain ASCII entry is a single ustar header", () => {
    expect(encodeTarHeader({ ...base, path: "a".repeat(100) })).toHaveLength(512);
    expect(encodeTarHeader({ ...base, path: `${"p".repeat(155)}/${"n".repeat(100)}` })).toHaveLength(512);
  });

  test("sizes from 8 GiB, negative mtimes and large ids go through pax, and GNU tar reads them", async () => {
    const entry = encodeTarHeader({
      ...base,
      path: "huge.bin",
      size: 2 ** 33 + 5,
      mtime: -86_400,
      uid: 3_000_000,
    });
    expect(entry.length).toBeGreaterThan(512);
    const listing = await gnuListing(Buffer.concat([entry, Buffer.alloc(4096)]));
    expect(listing).toMatch(/^-rw-r--r-- 3000000\/0 +8589934597 1969-12-31 \d\d:\d\d:\d\d huge\.bin$/m);
  });

  test("non-ASCII and over-long link targets go through pax linkpath", async () => {
    const target = `${"ü".repeat(60)}/${"t".repeat(80)}`;
    const entry = encodeTarHeader({
      ...base,
      path: "link",
      type: "symlink",
      mode: 0o777,
      linkTarget: target,
    });
    const listing = await gnuListing(Buffer.concat([entry, Buffer.alloc(1024)]));
    expect(listing).toContain(`link -> ${target}`);
  });
});
