import { constants } from "node:fs";
import { lstat, mkdir, open, realpath, unlink } from "node:fs/promises";
import { basename, resolve } from "node:path";
import {
  freeSpace,
  type ObjectInfo,
  objectNotFound,
  resolveRange,
  type StorageAdapter,
  StrongboxError,
  throwIfAborted,
} from "@strongbox/core/parts";
import { writeAtomically } from "./atomic-write.js";
import { createDownloadTokens, type DownloadTokenOptions, type DownloadTokens } from "./download-tokens.js";
import { folderInside, isMissing, objectPath } from "./safe-paths.js";
import { isStrayTemp, isTempName } from "./temp-files.js";
import { type WalkedFile, walkFiles } from "./walk.js";

/** Where the download handler answers, under the `baseUrl` of {@link LocalDownloadOptions}. */
export const DOWNLOAD_PATH = "/download/backup";

/** Signed download links, for {@link LocalStorageOptions.downloads}. */
export interface LocalDownloadOptions extends DownloadTokenOptions {
  /** Public URL the download handler is reachable at, e.g. `https://panel.example.com`. */
  baseUrl: string;
}

/** Options of {@link createLocalStorage}. */
export interface LocalStorageOptions {
  /** Folder holding the objects; created when missing. */
  root: string;
  /** Enables `downloadUrl` and {@link createDownloadHandler}. */
  downloads?: LocalDownloadOptions;
  /** Files listed per batch: each batch is stat'ed at once before its objects are yielded (default 64). */
  pageSize?: number;
}

/** Download settings of a {@link LocalStorage}: the tokens and the path they are served under. */
export interface LocalDownloads extends DownloadTokens {
  /** Request path of the download handler, e.g. `/download/backup`. */
  readonly path: string;
}

/** The local-disk adapter. */
export interface LocalStorage extends StorageAdapter {
  readonly name: "local";
  /** The storage folder, absolute. */
  readonly root: string;
  /** Present when `downloads` was configured. */
  readonly downloads: LocalDownloads | undefined;
  /** Bytes free on the volume holding the storage folder. */
  freeSpace(): Promise<number>;
}

/**
 * A storage adapter over a local folder. Writes are atomic (temp file, fsync, rename, fsync folder);
 * temp files left by a crashed writer are removed on first use; symbolic links are never followed.
 * With `downloads`, `downloadUrl` returns signed links for {@link createDownloadHandler}.
 */
export function createLocalStorage(options: LocalStorageOptions): LocalStorage {
  const root = resolve(options.root);
  const pageSize = options.pageSize ?? 64;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new StrongboxError("INVALID_INPUT", "The local storage page size must be a whole number above 0.", {
      details: { pageSize },
    });
  }
  const downloads = options.downloads && localDownloads(options.downloads);
  let ready: Promise<string> | undefined;
  // The real root, made and swept of stray temp files once; retried if that fails.
  const realRoot = () => {
    ready ??= prepareRoot(root).catch((error) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };

  const storage: LocalStorage = {
    name: "local",
    root,
    downloads,

    async put(key, body, putOptions) {
      throwIfAborted(putOptions?.signal, "The upload");
      const base = await realRoot();
      const segments = key.split("/");
      const name = segments.pop() as string;
      const folder = (await folderInside(base, segments, true)) as string;
      const size = await writeAtomically(folder, name, body, putOptions);
      const info = await statObject(base, key);
      return info ?? { key, size, modifiedAt: new Date() };
    },

    async get(key, { signal, range } = {}) {
      throwIfAborted(signal, "The download");
      const path = await objectPath(await realRoot(), key, false);
      if (path === undefined) throw objectNotFound(key);
      // O_NOFOLLOW: a symbolic link in the final place is not an object.
      const file = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0)).catch((error) => {
        throw isMissing(error) || ["ELOOP", "EISDIR"].includes(error.code) ? objectNotFound(key) : error;
      });
      try {
        const info = await file.stat();
        if (!info.isFile()) throw objectNotFound(key);
        // The end is always given: without it each read allocates a 64 KiB buffer, and one more to find the
        // end, which a busy node listing small manifests hundreds of times a second leaves as garbage.
        const ranged = resolveRange(range, info.size);
        const span = ranged ?? wholeFile(info.size);
        // A ranged read (a repository reading chunks of a pack) comes in one piece up to RANGE_PIECE_BYTES:
        // in 64 KiB pieces a 4 MiB range cost 64 trips to the thread pool and a copy to join them.
        const piece = ranged && { highWaterMark: Math.min(RANGE_PIECE_BYTES, ranged.end - ranged.start + 1) };
        return file.createReadStream({ ...span, ...piece, ...(signal ? { signal } : {}) });
      } catch (error) {
        await file.close();
        throw error;
      }
    },

    async stat(key) {
      return statObject(await realRoot(), key);
    },

    async delete(key) {
      const path = await objectPath(await realRoot(), key, false);
      if (path === undefined) return;
      const info = await lstat(path).catch(() => undefined);
      if (!info?.isFile()) return;
      await unlink(path).catch((error) => {
        if (!isMissing(error)) throw error;
      });
    },

    async freeSpace() {
      // The root may not exist yet; the volume that will hold it is the one that counts.
      return freeSpace(root);
    },

    async *list(prefix) {
      const base = await realRoot();
      const segments = prefix === "" ? [] : prefix.slice(0, -1).split("/");
      const folder = await folderInside(base, segments, false);
      if (folder === undefined) return;
      let batch: WalkedFile[] = [];
      for await (const file of walkFiles(folder, prefix)) {
        if (isTempName(file.name)) continue;
        batch.push(file);
        if (batch.length >= pageSize) {
          yield* await statFiles(batch);
          batch = [];
        }
      }
      yield* await statFiles(batch);
    },
  };

  if (downloads) {
    storage.downloadUrl = async (key, { expiresIn, filename } = {}) => {
      if (!(await storage.stat(key))) throw objectNotFound(key);
      const token = await downloads.issue(key, {
        filename: filename ?? basename(key),
        ...(expiresIn === undefined ? {} : { expiresIn }),
      });
      return `${options.downloads?.baseUrl.replace(/\/+$/, "")}${DOWNLOAD_PATH}?token=${encodeURIComponent(token)}`;
    };
  }
  return storage;
}

function localDownloads(options: LocalDownloadOptions): LocalDownloads {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch (error) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The download base URL "${options.baseUrl}" is not a valid URL.`,
      {
        cause: error,
      },
    );
  }
  const tokens = createDownloadTokens(options);
  return { ...tokens, path: `${base.pathname.replace(/\/+$/, "")}${DOWNLOAD_PATH}` };
}

/** The byte span of a whole file of `size` bytes (none for an empty one, which has no last byte). */
/** The largest piece a ranged read comes in: a repository's reads of a pack's chunks are at most 4 MiB. */
const RANGE_PIECE_BYTES = 4 * 1024 * 1024;

function wholeFile(size: number): { start: number; end: number } | undefined {
  return size > 0 ? { start: 0, end: size - 1 } : undefined;
}

async function prepareRoot(root: string): Promise<string> {
  await mkdir(root, { recursive: true });
  const real = await realpath(root);
  await sweepStrayTemps(real);
  return real;
}

/** Removes temp files whose writer crashed, so a crash leaves nothing behind after the next start. */
async function sweepStrayTemps(root: string): Promise<void> {
  for await (const file of walkFiles(root)) {
    if (!isTempName(file.name)) continue;
    const info = await lstat(file.path).catch(() => undefined);
    if (info && isStrayTemp(file.name, info.mtimeMs)) await unlink(file.path).catch(() => {});
  }
}

async function statObject(root: string, key: string): Promise<ObjectInfo | undefined> {
  const path = await objectPath(root, key, false);
  return path === undefined ? undefined : statFile(key, path);
}

async function statFile(key: string, path: string): Promise<ObjectInfo | undefined> {
  const info = await lstat(path).catch((error) => {
    if (isMissing(error)) return undefined;
    throw error;
  });
  return info?.isFile() ? { key, size: info.size, modifiedAt: info.mtime } : undefined;
}

/** Stats a batch of walked files at once; files deleted meanwhile drop out. */
async function statFiles(files: WalkedFile[]): Promise<ObjectInfo[]> {
  const infos = await Promise.all(files.map((file) => statFile(file.key, file.path)));
  return infos.filter((info): info is ObjectInfo => info !== undefined);
}
