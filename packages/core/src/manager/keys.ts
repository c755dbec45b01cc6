import { StrongboxError } from "../errors.js";

// One path segment, no dots: a server id can never climb out of its folder or name a hidden one.
const SERVER_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MANIFEST_KEY = /^([^/]+)\/([^/]+)\.json$/;

/**
 * Checks a server id before any key or path is built from it: 1-128 letters, digits, `-` or `_`,
 * starting with a letter or digit. Throws `INVALID_INPUT` otherwise.
 */
export function validateServerId(server: unknown): string {
  if (typeof server === "string" && SERVER_ID.test(server)) return server;
  throw new StrongboxError(
    "INVALID_INPUT",
    "A server id must be 1-128 letters, digits, '-' or '_', starting with a letter or digit.",
    { details: { server } },
  );
}

/** Checks a backup id (a UUID) and returns it in lower case. Throws `INVALID_INPUT` otherwise. */
export function validateBackupId(uuid: unknown): string {
  if (typeof uuid === "string" && UUID.test(uuid)) return uuid.toLowerCase();
  throw new StrongboxError(
    "INVALID_INPUT",
    "A backup id must be a UUID such as 3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e.",
    {
      details: { backup: uuid },
    },
  );
}

/** Storage key of a backup's archive: `<server>/<uuid>.tar.gz`. Both ids must be validated already. */
export function archiveKey(server: string, uuid: string): string {
  return `${server}/${uuid}.tar.gz`;
}

/** Storage key of a backup's manifest: `<server>/<uuid>.json`. Both ids must be validated already. */
export function manifestKey(server: string, uuid: string): string {
  return `${server}/${uuid}.json`;
}

/** The server and backup a manifest key names, or `undefined` when the key is not a manifest's. */
export function parseManifestKey(key: string): { server: string; uuid: string } | undefined {
  const match = MANIFEST_KEY.exec(key);
  if (!match) return undefined;
  const [, server = "", uuid = ""] = match;
  if (!SERVER_ID.test(server) || !UUID.test(uuid) || uuid !== uuid.toLowerCase()) return undefined;
  return { server, uuid };
}
