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

/**
 * Writes the gzip archive `archive` with Python's tarfile: `body` is indented Python run with `tar` open
 * for writing in `format` (`io` and `tarfile` imported).
 */
export function pythonTarGz(archive: string, body: string, format = "GNU_FORMAT"): void {
  const script = `import io, sys, tarfile\nwith tarfile.open(sys.argv[1], "w:gz", format=tarfile.${format}) as tar:\n${body}`;
  pythonTar(script, [archive]);
}

/**
 * Writes the gzip archive `archive` with Go's archive/tar: `body` is Go statements using `tw`, a
 * `*tar.Writer` (the `time` package is imported).
 */
export function goTarGz(archive: string, body: string): void {
  goTar(
    `package main
import ("archive/tar"; "compress/gzip"; "os"; "time")
var _ = time.Unix
func main() {
	out, err := os.Create(os.Args[1])
	if err != nil { panic(err) }
	zw := gzip.NewWriter(out)
	tw := tar.NewWriter(zw)
${body}
	if err := tw.Close(); err != nil { panic(err) }
	if err := zw.Close(); err != nil { panic(err) }
	if err := out.Close(); err != nil { panic(err) }
}
`,
    [archive],
  );
}
