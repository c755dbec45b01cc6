import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What a tool printed; it exited with status 0 (a non-zero status throws, with its stderr). */
export interface ToolOutput {
  stdout: string;
  stderr: string;
}

function runTool(
  command: string,
  args: readonly string[],
  cwd?: string,
  env?: NodeJS.ProcessEnv,
): ToolOutput {
  const result = spawnSync(command, args, {
    cwd,
    env: env ? { ...process.env, ...env } : undefined,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status}: ${result.stderr}`);
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

/** Runs GNU tar (`tar`) with `args`. */
export function gnuTar(args: readonly string[], cwd?: string): ToolOutput {
  return runTool("tar", args, cwd);
}

/** Runs libarchive's `bsdtar` with `args`. */
export function bsdTar(args: readonly string[], cwd?: string): ToolOutput {
  return runTool("bsdtar", args, cwd);
}

/** Runs a Python 3 script (it may `import tarfile`); `argv` becomes `sys.argv[1:]`. */
export function pythonTar(script: string, argv: readonly string[] = [], cwd?: string): ToolOutput {
  return runTool("python3", ["-c", script, ...argv], cwd);
}

/** Go's build cache, shared by the test runs of this machine so each program compiles in a moment. */
const GO_CACHE = join(tmpdir(), "strongbox-test-gocache");

/**
 * Runs a Go program (a whole `package main` file using the standard library only, e.g. `archive/tar`),
 * offline; `argv` becomes `os.Args[1:]`.
 */
export function goTar(program: string, argv: readonly string[] = [], cwd?: string): ToolOutput {
  const dir = mkdtempSync(join(tmpdir(), "strongbox-go-"));
  try {
    writeFileSync(join(dir, "main.go"), program);
    mkdirSync(GO_CACHE, { recursive: true });
    return runTool("go", ["run", join(dir, "main.go"), ...argv], cwd, {
      GOPROXY: "off",
      GOFLAGS: "-mod=mod",
      GO111MODULE: "off",
      GOCACHE: GO_CACHE,
      GOPATH: join(dir, "gopath"),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
