import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type StorageAdapter, StrongboxError } from "@strongbox/core";
import { createLocalStorage, type LocalDownloadOptions } from "@strongbox/storage-local";
import { requireDirectory } from "./paths.js";

/** What a storage URL names: a local folder (absolute) or an `s3://` URL, not yet checked further. */
export type StorageLocation = { kind: "local"; root: string } | { kind: "s3"; url: string };

/** Options of {@link openStorage}. */
export interface OpenStorageOptions {
  /** Folder a relative path is resolved against. */
  cwd: string;
  /** Create a missing local folder (where backups are written); otherwise a missing one is `NOT_FOUND`. */
  create?: boolean;
  /** Signing settings for local download links (`download-url`). */
  downloads?: LocalDownloadOptions;
}

// Anything that starts like a URL scheme; a folder whose name holds a colon is written `./a:b`.
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Reads a storage URL: a folder path (relative to `cwd`), `file:///abs/dir`, or
 * `s3://bucket/optional/prefix?endpoint=…&region=…&forcePathStyle=true`.
 * @throws StrongboxError `INVALID_INPUT` for anything else.
 */
export function parseStorageUrl(url: string, cwd: string): StorageLocation {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (url.trim() === "" || (scheme !== undefined && scheme !== "file" && scheme !== "s3"))
    throw notStorage(url);
  if (scheme === "s3") return { kind: "s3", url };
  if (scheme === "file") return { kind: "local", root: fileUrlPath(url) };
  return { kind: "local", root: resolve(cwd, url) };
}

/**
 * Opens the storage a URL names (see {@link parseStorageUrl}). S3 credentials come from the standard AWS
 * chain (environment, profile, instance role); the S3 SDK is loaded only for `s3://` URLs.
 * @throws StrongboxError `INVALID_INPUT` for a bad URL, `NOT_FOUND` for a missing folder unless `create`.
 */
export async function openStorage(url: string, options: OpenStorageOptions): Promise<StorageAdapter> {
  const location = parseStorageUrl(url, options.cwd);
  if (location.kind === "local") {
    if (!options.create) await requireDirectory(location.root, "The storage folder");
    return createLocalStorage({
      root: location.root,
      ...(options.downloads && { downloads: options.downloads }),
    });
  }
  // The SDK's notice that it will need Node 22 one day would break the one-line stderr contract of
  // every run; an operator who wants it sets the variable to "false".
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const { createS3Storage, parseS3Url } = await import("@strongbox/storage-s3");
  return createS3Storage(parseS3Url(location.url));
}

function fileUrlPath(url: string): string {
  const parsed = URL.canParse(url) && /^file:\/\//i.test(url) ? new URL(url) : undefined;
  const plain =
    parsed && parsed.search === "" && parsed.hash === "" && ["", "localhost"].includes(parsed.host);
  try {
    if (plain) return fileURLToPath(parsed);
  } catch {
    // An encoded "/" or NUL: reported below like any other malformed file URL.
  }
  throw new StrongboxError(
    "INVALID_INPUT",
    `"${url}" is not a storage URL: a file URL names an absolute folder, like file:///srv/backups.`,
    { details: { url } },
  );
}

function notStorage(url: string): StrongboxError {
  return new StrongboxError(
    "INVALID_INPUT",
    `"${url}" is not a storage URL: use a folder path, file:///abs/dir or s3://bucket/prefix.`,
    { details: { url } },
  );
}
