// Starts s3rver in a child process (see `s3rver-server.mjs`). Plain JavaScript so that the memory script
// can use it under plain Node; the tests reach it through `s3rver.ts`, and its types are in `fake-s3.d.mts`.
import { fork } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

/** The access key pair s3rver accepts out of the box (not frozen: the SDK tags the object it is given). */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/**
 * Starts s3rver on a free port with one bucket, in a child process (see `s3rver-server.mjs` for why, and for
 * the S3 behaviours it restores: paginated listings, AbortMultipartUpload, one-byte ranges).
 */
export async function startFakeS3(bucket = "strongbox-test") {
  const directory = await mkdtemp(join(tmpdir(), "strongbox-s3rver-"));
  const child = fork(new URL("./s3rver-server.mjs", import.meta.url), [directory, bucket], {
    execArgv: ["--openssl-legacy-provider"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const port = await portOf(child);
    const endpoint = `http://127.0.0.1:${port}`;
    return {
      endpoint,
      bucket,
      options: {
        bucket,
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: S3RVER_CREDENTIALS,
      },
      storedFiles: () => listFiles(join(directory, bucket)),
      stop: () => stop(child, directory),
    };
  } catch (error) {
    await stop(child, directory);
    throw error;
  }
}

function portOf(child) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`s3rver exited (code ${code}) before listening.`));
    child.once("exit", onExit);
    child.once("message", (message) => {
      child.off("exit", onExit);
      resolve(message.port);
    });
  });
}

async function stop(child, directory) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, "exit");
    child.disconnect();
    await exited;
  }
  await rm(directory, { recursive: true, force: true });
}

async function listFiles(root, dir = root) {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? listFiles(root, join(dir, entry.name)) : [relative(root, join(dir, entry.name))],
    ),
  );
  return nested.flat().sort();
}
