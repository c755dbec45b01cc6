import { spawnSync } from "node:child_process";
import { inflateRawSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { createChunkDeflater } from "../src/chunk-deflater.js";
import { noise } from "./fixtures/noise.js";

/** Text that compresses, different for each `n`. */
function text(n: number, size: number): Buffer {
  const line = (i: number) => `server.${n}.${i}=value ${(i * 7919) % 1000} player${i % 97}\n`;
  let out = "";
  for (let i = 0; out.length < size; i++) out += line(i);
  return Buffer.from(out.slice(0, size));
}

describe("createChunkDeflater", () => {
  test("every chunk, deflated on shared zlib states, inflates alone to its own bytes", async () => {
    const chunks: Buffer[] = [];
    for (let n = 0; n < 60; n++) {
      // Text, noise (its deflate output is larger than the zlib stream's 16 KiB output slices) and a mix.
      const size = [1, 100, 4096, 16 * 1024, 40 * 1024, 64 * 1024][n % 6]!;
      if (n % 3 === 0) chunks.push(text(n, size));
      else if (n % 3 === 1) chunks.push(noise(`chunk ${n}`, size));
      else chunks.push(Buffer.concat([text(n, size >> 1), noise(`half ${n}`, size - (size >> 1))]));
    }
    const deflater = createChunkDeflater(1, 3);
    try {
      // All at once: each lane deflates its queue in turn while the others run.
      const deflated = await Promise.all(chunks.map((chunk) => deflater.deflate(chunk)));
      for (const [n, chunk] of chunks.entries()) {
        expect(inflateRawSync(deflated[n]!).equals(chunk), `chunk ${n}`).toBe(true);
      }
      // Text compresses as a zlib state of its own would compress it: no dictionary carried over.
      expect(deflated[3]!.length).toBeLessThan(chunks[3]!.length / 3);
    } finally {
      deflater.close();
    }
  });

  test("what it makes is a complete raw deflate stream that Python's zlib reads", async () => {
    const chunk = text(7, 50_000);
    const deflater = createChunkDeflater(6, 1);
    const deflated = await deflater.deflate(chunk);
    deflater.close();
    // wbits -15: raw deflate; decompressobj.eof is true only when the final block was read.
    const python = spawnSync(
      "python3",
      [
        "-c",
        "import sys,zlib;d=zlib.decompressobj(-15);o=d.decompress(sys.stdin.buffer.read());" +
          "sys.stdout.buffer.write(o) if d.eof and not d.unused_data else sys.exit(3)",
      ],
      { input: deflated, maxBuffer: 1 << 20 },
    );
    expect(python.status).toBe(0);
    expect(Buffer.compare(python.stdout, chunk)).toBe(0);
  });

  test("after close, deflating fails instead of hanging", async () => {
    const deflater = createChunkDeflater(1, 2);
    deflater.close();
    await expect(deflater.deflate(text(1, 1000))).rejects.toThrow();
  });
});
