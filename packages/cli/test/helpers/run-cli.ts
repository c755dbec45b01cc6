import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** What a CLI run printed and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BIN = fileURLToPath(new URL("../../src/bin.ts", import.meta.url));
// Absolute, so the loader resolves whatever folder the CLI runs in.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** Where a spawned CLI runs; `env` is added to the test process's environment. */
export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts `strongbox <args>` from the sources (tsx, `source` export condition) with piped stdout and
 * stderr, for tests that watch or stop the process while it runs.
 */
export function spawnCli(args: readonly string[], options: CliOptions = {}) {
  return spawn(process.execPath, ["--import", TSX, "--conditions=source", BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Runs `strongbox <args>` from the sources with piped streams, as a script would: stdout and stderr are
 * not terminals.
 */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fresh temporary folder and the function that removes it (call it in afterEach). */
export async function makeTempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "strongbox-cli-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** What a CLI run in a terminal showed (stdout and stderr both, as the terminal mixed them). */
export interface TerminalRun {
  code: number | null;
  output: string;
}

/**
 * Runs `strongbox <args>` from the sources in a pseudo-terminal made by util-linux `script`, as a person
 * at a terminal runs it: stdout and stderr are that terminal.
 */
export function runCliInTerminal(args: readonly string[], options: CliOptions = {}): Promise<TerminalRun> {
  const command = [process.execPath, "--import", TSX, "--conditions=source", BIN, ...args]
    .map((word) => `'${word.replaceAll("'", `'\\''`)}'`)
    .join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}
