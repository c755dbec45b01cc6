import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type BackupRecord, createBackupManager, type StorageAdapter } from "@strongbox/core";
import type { backupAttributes } from "@strongbox/http";
import { createLocalStorage } from "@strongbox/storage-local";
import { afterEach, beforeEach, expect } from "vitest";
import type { FakeS3 } from "../../../storage-s3/test/helpers/s3rver.js";
import { writeTree } from "./fixtures.js";
import { type CliOptions, type CliRun, makeTempDir, runCli } from "./run-cli.js";

/** `attributes` of a `{object: "backup"}` document. */
export type BackupAttributes = ReturnType<typeof backupAttributes>;

/** The environment a CLI talking to s3rver needs: the access key pair s3rver knows. */
export const S3_ENV = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" } as const;

/** A storage URL for a folder `prefix` of the fake S3's bucket. */
export function s3Url(s3: FakeS3, prefix: string): string {
  return `s3://${s3.bucket}/${prefix}?endpoint=${s3.endpoint}&region=us-east-1&forcePathStyle=true`;
}

/** Runs a command that must succeed with `--json` and returns the document it printed. */
export async function runJson<T = { object: string; attributes: BackupAttributes }>(
  args: readonly string[],
  options: CliOptions = {},
): Promise<T> {
  const run = await runCli([...args, "--json"], options);
  expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
  return JSON.parse(run.stdout) as T;
}

/** `strongbox backup <dir> --storage <storage> --server <server> --json`: the new backup's attributes. */
export async function backUp(
  dir: string,
  storage: string,
  server: string,
  extra: readonly string[] = [],
  options: CliOptions = {},
): Promise<BackupAttributes> {
  const { attributes } = await runJson(
    ["backup", dir, "--storage", storage, "--server", server, ...extra],
    options,
  );
  return attributes;
}

/** Asserts that a run failed with exit code `code` and said why on exactly one stderr line. */
export function expectOneErrorLine(run: CliRun, pattern: RegExp, code = 1): void {
  expect(run.code).toBe(code);
  expect(run.stderr).toMatch(/^strongbox: [^\n]+\n$/);
  expect(run.stderr).toMatch(pattern);
}

/** Names of the files in a local storage's server folder, sorted (temp files included). */
export async function storedFiles(storage: string, server: string): Promise<string[]> {
  return (await readdir(join(storage, server)).catch(() => [])).sort();
}

/**
 * Makes a finished backup of `root` in `storage` (a local folder, or any adapter) in process, without
 * the CLI, so that tests of the other commands do not depend on `strongbox backup`. `at` dates it.
 */
export async function seedBackup(
  storage: string | StorageAdapter,
  server: string,
  root: string,
  { at, ...options }: { name?: string; locked?: boolean; at?: Date } = {},
): Promise<BackupRecord> {
  const adapter = typeof storage === "string" ? createLocalStorage({ root: storage }) : storage;
  const manager = createBackupManager({
    storage: adapter,
    serverRoot: () => root,
    ...(at && { now: () => at }),
  });
  try {
    const started = await manager.create(server, options);
    const record = await manager.wait(server, started.uuid);
    expect(record.is_successful, record.error).toBe(true);
    return record;
  } finally {
    await manager.close();
  }
}

/**
 * Registers per-test hooks that make a temp folder holding a server folder `srv` (with `files`) and a
 * local storage folder, removed after each test. Read the paths from the returned object inside tests.
 */
export function useBackupFixture(files: Parameters<typeof writeTree>[1]) {
  let temp: Awaited<ReturnType<typeof makeTempDir>> | undefined;
  const path = () => {
    if (!temp) throw new Error("useBackupFixture's paths are only there inside a test.");
    return temp.path;
  };
  beforeEach(async () => {
    temp = await makeTempDir();
    await writeTree(join(temp.path, "srv"), files);
  });
  afterEach(async () => {
    await temp?.remove();
    temp = undefined;
  });
  return {
    get path() {
      return path();
    },
    get storage() {
      return join(path(), "storage");
    },
    get src() {
      return join(path(), "srv");
    },
    /** A finished backup of `srv` on server `srv-1` in the fixture's storage, made now or `at`. */
    seed: (name: string, options: { at?: Date; locked?: boolean } = {}) =>
      seedBackup(join(path(), "storage"), "srv-1", join(path(), "srv"), { name, ...options }),
  };
}
