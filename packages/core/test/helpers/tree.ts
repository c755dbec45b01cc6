import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach } from "vitest";

const execFileAsync = promisify(execFile);

/** Temporary folders for one test file, removed after each test. */
export function useTempDirs(): (prefix?: string) => Promise<string> {
  const created: string[] = [];
  afterEach(async () => {
    await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async (prefix = "strongbox-pack-") => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    created.push(dir);
    return dir;
  };
}

/** Runs a command, resolving with its output; rejects when it exits non-zero. */
export async function run(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/** The entry names `tar -tzf` lists, and anything it printed on stderr (warnings). */
export async function tarList(archive: string): Promise<{ names: string[]; stderr: string }> {
  const { stdout, stderr } = await run("tar", ["-tzf", archive]);
  return { names: stdout.split("\n").filter((line) => line !== ""), stderr };
}

/** Extracts with GNU tar into `dir`, resolving with its stderr (warnings). */
export async function tarExtract(archive: string, dir: string): Promise<string> {
  return (await run("tar", ["-xzf", archive, "-C", dir])).stderr;
}

/** The hex digest `sha256sum` prints for `file`. */
export async function sha256sum(file: string): Promise<string> {
  return (await run("sha256sum", [file])).stdout.split(" ")[0]!;
}

/** What a tree holds, path by path: type, mode bits, mtime in seconds, content digest or link target. */
export type TreeSnapshot = Record<string, string>;

/** Describes every path under `root` (relative, `/`-separated) so two trees compare with one `toEqual`. */
export async function snapshotTree(root: string, options: { mtimes?: boolean } = {}): Promise<TreeSnapshot> {
  const snapshot: TreeSnapshot = {};
  const visit = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const relative = prefix + name;
      const stat = await lstat(path);
      const mtime = options.mtimes === false ? "" : ` mtime=${Math.floor(stat.mtimeMs / 1000)}`;
      const mode = ` mode=${(stat.mode & 0o7777).toString(8)}`;
      if (stat.isSymbolicLink()) {
        snapshot[relative] = `symlink -> ${await readlink(path)}`;
      } else if (stat.isDirectory()) {
        snapshot[`${relative}/`] = `directory${mode}${mtime}`;
        await visit(path, `${relative}/`);
      } else {
        const digest = createHash("sha256")
          .update(await readFile(path))
          .digest("hex");
        snapshot[relative] = `file size=${stat.size}${mode}${mtime} sha256=${digest}`;
      }
    }
  };
  await visit(root, "");
  return snapshot;
}
