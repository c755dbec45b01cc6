import { execFile } from "node:child_process";
import { mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";

/** Runs a system tool (tar, sha256sum) and returns its stdout. */
export async function tool(command: string, args: readonly string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(command, args);
  return stdout;
}

/**
 * Writes a tree: keys are `/`-separated paths; a string value is a file's content, `null` an empty
 * folder (key ending in `/`), `{ symlink }` a symbolic link.
 */
export async function writeTree(
  root: string,
  tree: Record<string, string | null | { symlink: string }>,
): Promise<void> {
  for (const [path, value] of Object.entries(tree)) {
    const full = join(root, path);
    if (value === null) {
      await mkdir(full, { recursive: true });
      continue;
    }
    await mkdir(dirname(full), { recursive: true });
    if (typeof value === "string") await writeFile(full, value);
    else await symlink(value.symlink, full);
  }
}

/** Every path under `root`, `/`-separated, folders with a trailing `/`, sorted. */
export async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .map((entry) => {
      const path = join(entry.parentPath, entry.name).slice(root.length + 1);
      return entry.isDirectory() ? `${path}/` : path;
    })
    .sort();
}

/** `tar -tzf` of an archive, entries normalized like {@link listTree}. */
export async function tarList(file: string): Promise<string[]> {
  const out = await tool("tar", ["-tzf", file]);
  return out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.replace(/^\.\//, ""))
    .sort();
}

/** `sha256:<hex>` of a file, by `sha256sum`. */
export async function sha256sum(file: string): Promise<string> {
  return `sha256:${(await tool("sha256sum", [file])).split(" ")[0]}`;
}

/** A writable that keeps what it is given, optionally pretending to be a terminal. */
export function memoryStream(options: { isTTY?: boolean; columns?: number } = {}) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    }),
    options,
  );
  return { stream, text: () => chunks.join("") };
}
