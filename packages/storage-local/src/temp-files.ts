import { createHash, randomBytes } from "node:crypto";
import { hostname } from "node:os";

/**
 * Temporary files are `.<name>.strongbox-tmp~<host>-<pid>-<random>`. `~` is never allowed in a key, so a
 * temp file can never be mistaken for an object; host and pid tell a crashed writer from a live one.
 */
const TEMP_NAME = /^\..*\.strongbox-tmp~([0-9a-f]{8})-(\d+)-[0-9a-f]+$/;

/** A temp file untouched this long is stray whoever wrote it (a writer on another host, a reused pid). */
export const STALE_TEMP_MS = 24 * 3600 * 1000;

const thisHost = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);

/** A fresh temp file name to write `name` under, in the same folder. */
export function tempNameFor(name: string): string {
  return `.${name}.strongbox-tmp~${thisHost}-${process.pid}-${randomBytes(6).toString("hex")}`;
}

/** True when `name` is a temp file name. */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/**
 * True when the temp file `name` was left by a writer that can no longer finish it: a process of this
 * host that has exited, or any writer that has not touched it for {@link STALE_TEMP_MS}.
 */
export function isStrayTemp(name: string, modifiedAt: number, now = Date.now()): boolean {
  const match = TEMP_NAME.exec(name);
  if (!match) return false;
  if (now - modifiedAt > STALE_TEMP_MS) return true;
  const [, host, pid] = match;
  return host === thisHost && !processAlive(Number(pid));
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
