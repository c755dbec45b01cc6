import {
  type BackupManager,
  type BackupWarning,
  createBackupManager,
  isStrongboxError,
  type OperationProgress,
  parseRate,
  type StorageAdapter,
  StrongboxError,
  validateServerId,
} from "@strongbox/core";
import { createPolicy } from "@strongbox/policy";
import type { LocalDownloadOptions } from "@strongbox/storage-local";
import { type CommandContext, type OutputStream, UsageError } from "./command.js";
import type { Output } from "./output.js";
import type { ProgressDisplay } from "./progress.js";
import { openStorage } from "./storage-url.js";

/** The options of every command that works on a server's backups in a storage. */
export const TARGET_OPTIONS = {
  storage: { type: "string" },
  server: { type: "string" },
  json: { type: "boolean" },
} as const;

/** The help lines of {@link TARGET_OPTIONS} but `--json`, for the commands' usage texts. */
export const TARGET_HELP = `      --storage <URL>      Where backups are: a folder, file:///abs/dir, or
                           s3://bucket/prefix?endpoint=URL&region=R&forcePathStyle=true
                           (S3 credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile)
      --server <ID>        The server the backups belong to (letters, digits, - and _)`;

/** Where a command's backups are: the storage URL and the server id. */
export interface Target {
  storage: string;
  server: string;
}

/** Checks that `--storage` and `--server` were given; the server id is validated too. */
export function requireTarget(command: string, values: { storage?: string; server?: string }): Target {
  for (const flag of ["storage", "server"] as const) {
    if (values[flag] === undefined) {
      const what = flag === "storage" ? "URL" : "ID";
      throw new UsageError(`${command}: missing --${flag} <${what}> (see "strongbox ${command} --help").`);
    }
  }
  return { storage: values.storage!, server: validateServerId(values.server) };
}

/**
 * Reads a flag that takes a whole number of at least `min` (`--page 2`).
 * @throws UsageError for anything else.
 */
export function parseWholeNumber(command: string, flag: string, text: string | undefined, min = 1) {
  if (text === undefined) return undefined;
  const value = /^[0-9]{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min)) {
    throw new UsageError(`${command}: --${flag} must be a whole number of at least ${min}, not "${text}".`);
  }
  return value;
}

/** The help line of `--rate-limit`, shared by backup, restore and migrate. */
export const RATE_LIMIT_HELP = `      --rate-limit <rate>  Most bytes per second this operation reads or writes: 50M (MiB/s), 512k, ...`;

/**
 * Reads `--rate-limit` (`50M`, `512k`, a number of bytes; `0` for none) into bytes per second.
 * @throws UsageError for anything else.
 */
export function parseRateLimit(command: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseRate(text);
  } catch (error) {
    if (!isStrongboxError(error, "INVALID_INPUT")) throw error;
    throw new UsageError(`${command}: --rate-limit ${error.message.replace(/\.$/, "")}.`);
  }
}

/** Options of {@link withManager}. */
export interface ManagerSetup {
  /** The server's folder, for `backup` and `restore`. */
  serverRoot?: string;
  /** Create a missing local storage folder (only `backup` writes to a storage that may be new). */
  create?: boolean;
  /** Signing settings for local download links. */
  downloads?: LocalDownloadOptions;
  onProgress?: (progress: OperationProgress) => void;
  onWarning?: (warning: BackupWarning) => void;
}

/**
 * Runs `work` with a backup manager on the target's storage, closed afterwards.
 *
 * The manager asks `createPolicy()`'s rules with no actor, so a command line is trusted (no permissions)
 * but still cannot delete a locked backup. `recover()` is not called: `create` and `restore` already fail
 * the abandoned backups of their server (live ones, of other processes, are left alone), and reading
 * commands change no backup or record, so they work with read-only S3 credentials.
 */
export async function withManager<T>(
  target: Target,
  context: CommandContext,
  setup: ManagerSetup,
  work: (manager: BackupManager, storage: StorageAdapter) => Promise<T>,
): Promise<T> {
  const storage = await openStorage(target.storage, {
    cwd: context.cwd,
    ...(setup.create && { create: true }),
    ...(setup.downloads && { downloads: setup.downloads }),
  });
  const root = setup.serverRoot;
  const manager = createBackupManager({
    storage,
    policy: createPolicy(),
    serverRoot: () => root ?? noServerFolder(),
    ...(setup.onProgress && { onProgress: setup.onProgress }),
    ...(setup.onWarning && { onWarning: setup.onWarning }),
  });
  try {
    return await work(manager, storage);
  } finally {
    await manager.close();
  }
}

/**
 * The `onWarning` of a command, printed like {@link Output.warning} (`strongbox: warning: <path>: ...`,
 * or a JSON line with `--json`); warnings about no path (a record that could not be refreshed, a hook
 * that failed) leave the path out.
 */
export function backupWarnings(
  output: Output,
  stderr: OutputStream,
  bar: ProgressDisplay,
): (warning: BackupWarning) => void {
  return ({ code, path, message }) => {
    bar.clear();
    const sentence = message.replace(/\s*[\r\n]+\s*/g, " ");
    const line = output.json
      ? JSON.stringify({ warning: { code, ...(path !== undefined && { path }), message } })
      : `strongbox: warning: ${path === undefined ? "" : `${path}: `}${sentence}`;
    stderr.write(`${line}\n`);
  };
}

function noServerFolder(): never {
  // Only backup and restore read or write a server folder, and both name one.
  throw new StrongboxError(
    "INVALID_INPUT",
    "This command works on the storage only and names no server folder.",
  );
}
