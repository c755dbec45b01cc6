import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { decodePath, encodePath } from "../../src/path-bytes.js";

/**
 * git as the reference for ignore rules, run the same way on any machine: no system or user config
 * (a home of its own, no global excludes file), no GIT_* variable of the caller, and one empty
 * repository whose work tree is given per call, so each case costs two process starts and no `git init`.
 */
export interface GitIgnoreOracle {
  /**
   * What git ignores among `paths` (relative, decoded with `decodePath`) of the tree at `workTree`,
   * whose root `.gitignore` holds the rules: the files and symlinks `git ls-files --others --ignored`
   * lists, and the directories `git check-ignore` names (git never lists an empty directory).
   */
  ignored(workTree: string, paths: { files: readonly string[]; directories: readonly string[] }): Set<string>;
}

/** Creates the repository under `scratch` (an empty folder the caller removes). */
export function gitIgnoreOracle(scratch: string): GitIgnoreOracle {
  const home = join(scratch, "home");
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("GIT_")),
  );
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  });
  const gitDir = join(scratch, "repo.git");
  const git = (args: string[], input?: Buffer): Buffer =>
    execFileSync("git", ["-c", "core.ignoreCase=false", ...args], {
      env,
      input,
      maxBuffer: 64 * 1024 * 1024,
    });
  // No template: no sample hooks, and no `info/exclude` beside the rules under test.
  git(["init", "--quiet", "--template=", "--bare", gitDir]);
  git(["--git-dir", gitDir, "config", "core.bare", "false"]);

  return {
    ignored(workTree, { files, directories }) {
      const inTree = ["--git-dir", gitDir, "--work-tree", workTree];
      const ignored = new Set(
        splitNul(git([...inTree, "ls-files", "--others", "--ignored", "--exclude-standard", "-z"])),
      );
      if (directories.length > 0) {
        const input = Buffer.concat(
          directories.map((path) => Buffer.concat([encodePath(path), Buffer.of(0)])),
        );
        for (const path of splitNul(
          checkIgnore(() => git([...inTree, "check-ignore", "--stdin", "-z"], input)),
        )) {
          ignored.add(path);
        }
      }
      const asked = new Set([...files, ...directories]);
      return new Set([...ignored].filter((path) => asked.has(path)));
    },
  };
}

/** `check-ignore` exits 1 when nothing is ignored, which is an answer, not a failure. */
function checkIgnore(run: () => Buffer): Buffer {
  try {
    return run();
  } catch (error) {
    const { status, stdout } = error as { status?: number; stdout?: Buffer };
    if (status === 1 && stdout !== undefined) return stdout;
    throw error;
  }
}

function splitNul(output: Buffer): string[] {
  const paths: string[] = [];
  let start = 0;
  for (let end = output.indexOf(0); end !== -1; end = output.indexOf(0, start)) {
    paths.push(decodePath(output.subarray(start, end)));
    start = end + 1;
  }
  return paths;
}
