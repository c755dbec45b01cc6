import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "./helpers/run-cli.js";

/** The command as package managers link it (it runs the build: `pnpm build` first). */
const BIN = fileURLToPath(new URL("../bin/strongbox.js", import.meta.url));

/**
 * Loaded before the command: makes much short-lived garbage with thousands of objects alive at a time,
 * as a busy `serve` does, and prints the largest young generation V8 gave it, in MiB.
 */
const PROBE = `
import v8 from "node:v8";
const young = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space").space_size;
let alive = [];
let largest = young();
for (let i = 0; i < 2_000_000; i++) {
  alive.push({ i, text: "request " + i });
  if (alive.length > 20_000) alive = [];
  if (i % 1000 === 0) largest = Math.max(largest, young());
}
process.stderr.write("young-generation-MiB " + largest / 2 ** 20 + "\\n");
`;

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let probe: string;
beforeEach(async () => {
  temp = await makeTempDir();
  probe = join(temp.path, "probe.mjs");
  await writeFile(probe, PROBE);
});
afterEach(() => temp.remove());

/** The largest young generation (MiB) of `command` with the probe loaded first. */
function youngGenerationMiB(command: string, args: string[]): number {
  const run = spawnSync(command, args, {
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: `--import ${pathToFileURL(probe).href}` },
  });
  expect(run.status, run.stderr).toBe(0);
  return Number(/young-generation-MiB (\S+)/.exec(run.stderr)?.[1]);
}

describe("the strongbox command", () => {
  it("runs Node with a young generation of 1 MiB semi-spaces, where Node's default grows to tens of MiB", () => {
    expect(youngGenerationMiB(process.execPath, [BIN, "--version"])).toBeGreaterThanOrEqual(16);
    expect(youngGenerationMiB(BIN, ["--version"])).toBeLessThanOrEqual(2);
  });
});
