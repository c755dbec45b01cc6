import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodePath, encodePath } from "../../src/path-bytes.js";

/**
 * The real tar tools Strongbox must agree with, each run as a user would run it. They are installed by
 * `scripts/setup-tools.sh`, so none is ever skipped: a missing tool fails the test.
 */

/** What a tool printed; stdout as bytes, since names that are not UTF-8 must reach the test unchanged. */
export interface ToolOutput {
  stdout: Buffer;
  stderr: string;
}

/** Runs a tool to completion; throws with its stderr when it exits non-zero. */
function runTool(
  command: string,
  args: readonly string[],
  cwd?: string,
  env?: NodeJS.ProcessEnv,
): ToolOutput {
  const result = spawnSync(command, args, {
    cwd,
    env: env && { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  const stderr = result.stderr?.toString() ?? "";
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${stderr}`);
  return { stdout: result.stdout, stderr };
}

/** GNU tar (1.34 on the CI machine); throws when it exits non-zero. */
export function gnuTar(args: readonly string[], cwd?: string): ToolOutput {
  return runTool("tar", args, cwd);
}

/** bsdtar (libarchive); throws when it exits non-zero. */
export function bsdTar(args: readonly string[], cwd?: string): ToolOutput {
  return runTool("bsdtar", args, cwd);
}

/** Runs a Python 3 script (`io`, `os`, `sys` and `tarfile` imported); `argv` becomes `sys.argv[1:]`. */
export function pythonTar(script: string, argv: readonly string[] = [], cwd?: string): ToolOutput {
  return runTool("python3", ["-c", `import io, os, sys, tarfile\n${script}`, ...argv], cwd);
}

/** Each real reader, extracting a `.tar.gz` into `dir` (which exists) as its user would. */
export const EXTRACTORS: Readonly<Record<string, (archive: string, dir: string) => ToolOutput>> = {
  "GNU tar": (archive, dir) => gnuTar(["-xzf", archive, "-C", dir]),
  bsdtar: (archive, dir) => bsdTar(["-xzf", archive, "-C", dir]),
  "Python tarfile": (archive, dir) =>
    pythonTar(`tarfile.open(${JSON.stringify(archive)}).extractall(${JSON.stringify(dir)}, filter="tar")`),
};

/** A Go cache shared by the test runs of this machine: the first `go run` builds, later ones reuse. */
const GO_CACHE = join(tmpdir(), "strongbox-go-cache");

/**
 * Runs a Go program (`package main`, standard library only, e.g. `archive/tar`) offline, from a
 * temporary folder; `argv` becomes `os.Args[1:]`, `cwd` is where it runs. Throws when it fails to build or
 * exits non-zero.
 */
export function goTar(program: string, argv: readonly string[] = [], cwd?: string): ToolOutput {
  const dir = mkdtempSync(join(tmpdir(), "strongbox-go-"));
  try {
    writeFileSync(join(dir, "main.go"), program);
    mkdirSync(GO_CACHE, { recursive: true });
    const env = {
      GOPROXY: "off",
      GOFLAGS: "-mod=mod",
      GO111MODULE: "off",
      GOCACHE: GO_CACHE,
      GOPATH: join(dir, "gopath"),
    };
    return runTool("go", ["run", join(dir, "main.go"), ...argv], cwd, env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Every path under `root` (itself decoded, as `fsPath` takes it), relative and `/`-separated, read with `encoding: "buffer"` and decoded with
 * `decodePath` (which is lossless: two names compare equal exactly when their bytes do); directories end
 * with `/`. Sorted by bytes.
 */
export function listTreeNames(root: string): string[] {
  const names: string[] = [];
  const visit = (dir: Buffer, prefix: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true, encoding: "buffer" })) {
      const path = prefix + decodePath(entry.name);
      const full = Buffer.concat([dir, Buffer.from("/"), entry.name]);
      if (entry.isDirectory()) {
        names.push(`${path}/`);
        visit(full, `${path}/`);
      } else names.push(path);
    }
  };
  visit(encodePath(root), "");
  return names.sort(byNameBytes);
}

/** Orders decoded names by their bytes, as `listTreeNames` lists them. */
export function byNameBytes(a: string, b: string): number {
  return Buffer.compare(encodePath(a), encodePath(b));
}

/**
 * Writes the gzip archive `archive` with Python's tarfile: `body` is indented Python run with `tar` open
 * for writing in `format` (`io` and `tarfile` imported).
 */
export function pythonTarGz(archive: string, body: string, format = "GNU_FORMAT"): void {
  const script = `with tarfile.open(sys.argv[1], "w:gz", format=tarfile.${format}) as tar:\n${body}`;
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
