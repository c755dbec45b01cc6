import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import * as path from "node:path";
import { StrongboxError } from "../../errors.js";
import type { PackOptions, PackResult } from "../types.js";
import { startPack } from "./pack.js";

/**
 * Packs `root` into the file `file` (see {@link pack}). The archive is written to a temporary file
 * beside it (`<file>.partial-<random>`), flushed to disk, and renamed into place only once complete, so
 * `file` never holds a partial archive; on failure or abort the temporary file is removed. When `file`
 * lies inside `root`, neither it nor the temporary file is archived.
 *
 * @returns what `pack` reports, once `file` is in place.
 * @throws StrongboxError as `pack` does, `INVALID_INPUT` when `file` cannot be created, and
 * `INSUFFICIENT_SPACE` when the disk fills up.
 */
export async function packToFile(root: string, file: string, options: PackOptions = {}): Promise<PackResult> {
  const target = path.resolve(file);
  const temporary = `${target}.partial-${randomBytes(6).toString("hex")}`;
  const handle = await open(temporary, "wx").catch((cause: NodeJS.ErrnoException) => {
    throw new StrongboxError("INVALID_INPUT", `Cannot create the archive ${target} (${cause.code}).`, {
      cause,
      details: { file: target },
    });
  });
  try {
    const { stream, result } = startPack(root, options, [target, temporary]);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      await handle.write(chunk);
    }
    const packed = await result;
    await handle.sync();
    await handle.close();
    await rename(temporary, target);
    await syncDirectory(path.dirname(target));
    return packed;
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporary, { force: true });
    throw writeFailure(error, target);
  }
}

/** Makes the rename durable; some filesystems cannot sync a directory, which costs only durability. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r").catch(() => undefined);
  await handle?.sync().catch(() => {});
  await handle?.close();
}

function writeFailure(error: unknown, target: string): unknown {
  if ((error as NodeJS.ErrnoException).code !== "ENOSPC") return error;
  return new StrongboxError("INSUFFICIENT_SPACE", `The disk holding ${target} is full; free some space.`, {
    cause: error,
    details: { file: target },
  });
}
