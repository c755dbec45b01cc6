/**
 * Timing one command as its own process: whole-process wall time, CPU time of it and its children, and the
 * peak RSS of its largest process (GNU time's `%e %U %S %M`). Shared by the harnesses (run.ts,
 * repository-bench.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sample } from "./report.js";

/** What a runner prints on its last line (JSON). A runner that times its own work gives `seconds`. */
export interface RunnerReport {
  seconds?: number;
  cpuSeconds?: number;
  maxRssKiB?: number;
  bytes?: number;
  [field: string]: unknown;
}

/** A sample, with what the command printed. */
export interface Measured extends Sample {
  stdout: string;
  /** The command's last line, when it is JSON. */
  report?: RunnerReport | undefined;
}

/** Shell-quotes one argument. */
export const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Whether a command is on the PATH. */
export function have(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

/**
 * Runs `command` with bash under `/usr/bin/time` (when installed), writing GNU time's figures to a file in
 * `work`. Throws when the command fails. A runner that reports `seconds` on its last line (one that starts
 * a service of its own, such as s3rver) gives the figures of its work instead.
 */
export function measure(command: string, work: string): Measured {
  const timeFile = join(work, "time.txt");
  const useTime = existsSync("/usr/bin/time");
  const argv = useTime
    ? ["/usr/bin/time", "-f", "%e %U %S %M", "-o", timeFile, "bash", "-c", command]
    : ["bash", "-c", command];
  const start = process.hrtime.bigint();
  const child = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (child.status !== 0)
    throw new Error(`bench: command failed (${child.status}): ${command}\n${child.stderr}`);
  // GNU time may print a warning line first (a non-zero exit status); the figures are on the last line.
  const fields = useTime ? readFileSync(timeFile, "utf8").trim().split("\n").at(-1)!.split(/\s+/) : [];
  const [, user, system, rssKiB] = fields.map(Number);
  const report = runnerReport(child.stdout);
  const sample: Measured = {
    seconds,
    cpuSeconds: useTime ? user! + system! : Number.NaN,
    rssMiB: useTime ? rssKiB! / 1024 : Number.NaN,
    stdout: child.stdout,
    report,
  };
  if (report?.seconds === undefined) return sample;
  return {
    ...sample,
    seconds: report.seconds,
    cpuSeconds: report.cpuSeconds ?? sample.cpuSeconds,
    rssMiB: (report.maxRssKiB ?? Number.NaN) / 1024,
    bytes: report.bytes,
  };
}

/** The figures of a measurement alone (what the results files keep). */
export function sampleOf(measured: Measured): Sample {
  const { seconds, cpuSeconds, rssMiB, bytes } = measured;
  return bytes === undefined ? { seconds, cpuSeconds, rssMiB } : { seconds, cpuSeconds, rssMiB, bytes };
}

/** The JSON object on the last line of `stdout`, if there is one. */
export function runnerReport(stdout: string): RunnerReport | undefined {
  try {
    const value: unknown = JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
    return typeof value === "object" && value !== null ? (value as RunnerReport) : undefined;
  } catch {
    return undefined;
  }
}
