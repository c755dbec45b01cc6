import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { spawnCli } from "./run-cli.js";

/** A running `strongbox serve`. */
export interface ServeProcess {
  child: ChildProcess;
  /** Its address, as it printed it (`http://127.0.0.1:PORT`). */
  origin: string;
  /** Resolves with the exit code once it has exited. */
  exited: Promise<number | null>;
  /** What it printed to stderr so far. */
  stderr(): string;
}

/** Starts `strongbox serve <args>` and resolves once it listens (pass `--port 0` for a free port). */
export async function spawnServe(args: readonly string[]): Promise<ServeProcess> {
  const child = spawnCli(["serve", ...args]);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  let stdout = "";
  const origin = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = /Listening on (\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  return { child, origin, exited, stderr: () => stderr };
}

/** Kills a serve process that still runs (a test's clean-up) and waits for it to be gone. */
export async function killServe(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGKILL");
  await once(child, "exit");
}

/** A JSON-lines file's values, once `done` holds for them (the file is watched, not polled). */
// biome-ignore lint/suspicious/noExplicitAny: tests read the lines field by field
export async function jsonLinesUntil(file: string, done: (values: any[]) => boolean) {
  const watcher = watch(file);
  try {
    for (;;) {
      const values = (await readFile(file, "utf8"))
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line));
      if (done(values)) return values;
      await once(watcher, "change");
    }
  } finally {
    watcher.close();
  }
}
