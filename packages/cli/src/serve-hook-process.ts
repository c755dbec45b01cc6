import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { throwIfAborted } from "@strongbox/core";

/** The end of a hook's stderr kept for its error message. */
export const STDERR_TAIL_BYTES = 1024;
/** Time a hook has to exit after SIGTERM before it gets SIGKILL. */
export const KILL_GRACE_MS = 5000;
// A program that exits while something it started still holds its stderr is not waited on for long.
const STDERR_DRAIN_MS = 100;

/** Options of {@link runHookProcess}. */
export interface HookProcessOptions {
  /** The folder it runs in. */
  cwd: string;
  /** Its whole environment. */
  env: NodeJS.ProcessEnv;
  /** Stops it: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal: AbortSignal;
  /** Default {@link KILL_GRACE_MS}. */
  killGraceMs?: number;
}

/**
 * Runs `argv` (the program, then its arguments) without a shell, so no argument is ever parsed as shell
 * syntax, and resolves once it exited with code 0. Its stdout is discarded.
 * @throws Error saying how it ended (exit code or signal) with the last {@link STDERR_TAIL_BYTES} of its
 * stderr, or why it could not start; the abort reason (an `ABORTED` error) once `signal` stopped it.
 */
export async function runHookProcess(argv: readonly string[], options: HookProcessOptions): Promise<void> {
  const [program = "", ...args] = argv;
  throwIfAborted(options.signal, `"${program}"`);
  let child: ChildProcess;
  try {
    child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    // Arguments Node refuses outright (a NUL byte in a name, say) arrive here, before any process exists.
    throw new Error(`"${program}" could not be started: ${(error as Error).message}`);
  }
  // `exited` reports a failed start; a kill that fails later must not crash serve as an unheard 'error'.
  child.on("error", () => {});
  const stderr = keepTail(child);
  const stop = () => terminate(child, options.killGraceMs ?? KILL_GRACE_MS);
  options.signal.addEventListener("abort", stop, { once: true });
  try {
    const [code, signal] = await exited(child, program);
    await stderr.drained();
    throwIfAborted(options.signal, `"${program}"`);
    if (code === 0) return;
    const how = signal === null ? `exited with code ${code}` : `was stopped by ${signal}`;
    const said = stderr.text();
    throw new Error(`"${program}" ${how}${said === "" ? "" : `: ${said}`}`);
  } finally {
    options.signal.removeEventListener("abort", stop);
    child.stderr?.destroy();
  }
}

async function exited(child: ChildProcess, program: string): Promise<[number | null, NodeJS.Signals | null]> {
  try {
    return (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new Error(`"${program}" could not be started (${code ?? message}).`);
  }
}

/** SIGTERM now, SIGKILL if it is still there after `graceMs`. */
function terminate(child: ChildProcess, graceMs: number): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
  child.once("exit", () => clearTimeout(kill));
}

/** Keeps the last {@link STDERR_TAIL_BYTES} of `child`'s stderr, as one line of text. */
function keepTail(child: ChildProcess) {
  let tail = Buffer.alloc(0);
  child.stderr!.on("data", (chunk: Buffer) => {
    const joined = Buffer.concat([tail, chunk]);
    tail = joined.subarray(Math.max(0, joined.length - STDERR_TAIL_BYTES));
  });
  const ended = once(child.stderr!, "end").catch(() => {});
  return {
    /** Resolves once stderr has ended, or shortly after the program exited when a process it started keeps it open. */
    async drained() {
      const timer = new AbortController();
      await Promise.race([
        ended,
        delay(STDERR_DRAIN_MS, undefined, { signal: timer.signal }).catch(() => {}),
      ]);
      timer.abort();
    },
    text: () =>
      tail
        .toString("utf8")
        .replace(/^\uFFFD+/, "")
        .replace(/\s+/g, " ")
        .trim(),
  };
}
