import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import "./quiet-sdk.js";

/** The access key pair s3rver accepts out of the box. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** A running s3rver on 127.0.0.1 with one bucket, in its own temporary folder. */
export interface FakeS3 {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  /** Every file s3rver keeps for the bucket (objects, metadata, multipart parts), relative to it. */
  storedFiles(): Promise<string[]>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver on a free port, in a child process (see `s3rver-server.mjs` for why, and for the S3
 * behaviours it restores: paginated listings, AbortMultipartUpload, one-byte ranges).
 */
export async function startFakeS3(bucket = "strongbox-test"): Promise<FakeS3> {
  const directory = await mkdtemp(join(tmpdir(), "strongbox-s3rver-"));
  const child = fork(new URL("./s3rver-server.mjs", import.meta.url), [directory, bucket], {
    execArgv: ["--openssl-legacy-provider"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const port = await portOf(child);
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      storedFiles: () => listFiles(join(directory, bucket)),
      stop: () => stop(child, directory),
    };
  } catch (error) {
    await stop(child, directory);
    throw error;
  }
}

function portOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`s3rver exited (code ${code}) before listening.`));
    child.once("exit", onExit);
    child.once("message", (message) => {
      child.off("exit", onExit);
      resolve((message as { port: number }).port);
    });
  });
}

async function stop(child: ChildProcess, directory: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, "exit");
    child.disconnect();
    await exited;
  }
  await rm(directory, { recursive: true, force: true });
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? listFiles(root, join(dir, entry.name)) : [relative(root, join(dir, entry.name))],
    ),
  );
  return nested.flat().sort();
}

/** The XML body S3 sends with an error status. */
export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}
