import { execFileSync } from "node:child_process";
import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { sampleEntropyBits } from "@strongbox/core/threads";
import { describe, expect, test } from "vitest";
import { chunkOfPayload, createBlobEncoder } from "../src/blob-encoder.js";
import { noise } from "./fixtures/noise.js";

const encoder = createBlobEncoder({}, 1);
const bits = (chunk: Buffer) => sampleEntropyBits(chunk, 0, chunk.length);
const encoded = (chunk: Buffer) => encoder.encode(encoder.id(chunk), chunk);

/** 16 KiB as a region file holds it: four 4 KiB sectors of compressed data, each ending in 192 zeros. */
function regionLike(): Buffer {
  const sectors: Buffer[] = [];
  for (let n = 0; n < 4; n++) sectors.push(noise(`sector ${n}`, 4096 - 192), Buffer.alloc(192));
  return Buffer.concat(sectors);
}

describe("the blob encoder", () => {
  test("deflates text with string matching, compressed data with padding for its runs only, stores random bytes", () => {
    const text = Buffer.from("motd=A Minecraft Server\nmax-players=20\n".repeat(420)).subarray(0, 16_384);
    const region = regionLike();
    const random = noise("random", 16_384);
    // What each one is to the sample the encoder decides on.
    expect(bits(text)).toBeLessThan(6.5);
    expect(bits(region)).toBeGreaterThanOrEqual(6.5);
    expect(bits(region)).toBeLessThan(7.5);
    expect(bits(random)).toBeGreaterThanOrEqual(7.5);

    const matched = deflateRawSync(text, { level: 1, memLevel: 7 });
    expect(encoded(text)).toEqual(Buffer.concat([Buffer.of(1), matched]));
    // Runs alone make text much larger than string matching does: the choice matters.
    expect(deflateRawSync(text, { level: 1, memLevel: 7, strategy: constants.Z_RLE }).length).toBeGreaterThan(
      matched.length * 2,
    );

    const runs = deflateRawSync(region, { level: 1, memLevel: 7, strategy: constants.Z_RLE });
    expect(encoded(region)).toEqual(Buffer.concat([Buffer.of(1), runs]));
    // As small as string matching makes it, to a few bytes: the padding is all there is to save.
    const matchedRegion = deflateRawSync(region, { level: 1, memLevel: 7 }).length;
    expect(Math.abs(runs.length - matchedRegion)).toBeLessThan(region.length / 100);
    expect(runs.length).toBeLessThan(region.length - 500);

    expect(encoded(random)).toEqual(Buffer.concat([Buffer.of(0), random]));
    for (const chunk of [text, region, random]) expect(chunkOfPayload(encoded(chunk))).toEqual(chunk);
    // Any raw inflate reads what runs alone made: Node's, and Python's zlib (a reader outside this code).
    expect(inflateRawSync(runs)).toEqual(region);
    for (const chunk of [text, region]) {
      const inflated = execFileSync(
        "python3",
        [
          "-c",
          "import sys, zlib; sys.stdout.buffer.write(zlib.decompressobj(-15).decompress(sys.stdin.buffer.read()))",
        ],
        { input: encoded(chunk).subarray(1) },
      );
      expect(inflated.equals(chunk)).toBe(true);
    }
  });
});
