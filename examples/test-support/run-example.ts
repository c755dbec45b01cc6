import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// Absolute, so the loader resolves from any folder.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * Starts `examples/<name>/src/main.ts` as its `start` script does (tsx, `source` condition), in the
 * example's folder, with `env` added to the environment.
 */
export function spawnExample(
  name: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): ChildProcessWithoutNullStreams {
  const folder = fileURLToPath(new URL(`../${name}/`, import.meta.url));
  return spawn(process.execPath, ["--import", TSX, "--conditions=source", "src/main.ts", ...args], {
    cwd: folder,
    env: { ...process.env, ...env },
  });
}

/** Runs an example to its end: exit code, stdout and stderr. */
export async function runExample(name: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}) {
  const child = spawnExample(name, args, env);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  return { code, stdout, stderr, lines: jsonLines(stdout) };
}

/** The JSON objects among the lines of `text` (other lines are skipped). */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A fresh temporary folder and the function that removes it. */
export async function tempFolder(prefix: string) {
  const path = await mkdtemp(join(tmpdir(), `strongbox-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
