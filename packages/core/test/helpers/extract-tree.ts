import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { decodePath, fsPath } from "../../src/path-bytes.js";

/** What a snapshot records of one path (ownership left out: extract never takes it from an archive). */
export interface TreeNode {
  type: "file" | "directory" | "symlink" | "other";
  mode: number;
  /** Whole seconds, so filesystems and tar agree. */
  mtime: number;
  /** sha256 of a file's bytes. */
  digest?: string;
  linkTarget?: string;
  /** Hard links to the same file. */
  links?: number;
}

/**
 * Every path under `root` with its type, mode, mtime and content digest, by `/`-separated relative path.
 * Symlinks are recorded, never followed. Names and link targets that are not UTF-8 are read as bytes and
 * decoded with `decodePath`, so two names differ here exactly when their bytes do.
 */
export function snapshotTree(
  root: string,
  skip: (path: string) => boolean = () => false,
): Record<string, TreeNode> {
  const tree: Record<string, TreeNode> = {};
  const visit = (dir: string, prefix: string): void => {
    const names = readdirSync(fsPath(dir), { encoding: "buffer" }).sort(Buffer.compare).map(decodePath);
    for (const name of names) {
      const path = prefix === "" ? name : `${prefix}/${name}`;
      if (skip(path)) continue;
      const full = join(dir, name);
      const stats = lstatSync(fsPath(full));
      const node: TreeNode = {
        type: stats.isFile()
          ? "file"
          : stats.isDirectory()
            ? "directory"
            : stats.isSymbolicLink()
              ? "symlink"
              : "other",
        mode: stats.mode & 0o7777,
        mtime: Math.floor(stats.mtimeMs / 1000),
      };
      if (node.type === "file") {
        node.digest = createHash("sha256")
          .update(readFileSync(fsPath(full)))
          .digest("hex");
        node.links = stats.nlink;
      }
      if (node.type === "symlink") node.linkTarget = decodePath(readlinkSync(fsPath(full), "buffer"));
      tree[path] = node;
      if (node.type === "directory") visit(full, path);
    }
  };
  visit(root, "");
  return tree;
}

/** A readable stream of `bytes` cut into chunks of `size`, like a file or network stream delivers. */
export function chunked(bytes: Uint8Array, size = 16 * 1024): Readable {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}
