import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Actor } from "@strongbox/core";
import { HttpError } from "./errors.js";

/** Maps a bearer token to the actor it stands for, or `undefined` when it is not valid. */
export type Authenticate = (
  token: string,
  request: IncomingMessage,
) => Actor | undefined | Promise<Actor | undefined>;

/** Every permission the API knows. */
export const ALL_PERMISSIONS = [
  "backup.create",
  "backup.read",
  "backup.download",
  "backup.restore",
  "backup.delete",
] as const;

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * The default {@link Authenticate}: a fixed list of tokens. Tokens are compared in constant time (through
 * their SHA-256, so their lengths leak nothing either), and every token is checked.
 */
export function staticTokens(tokens: Readonly<Record<string, Actor>>): Authenticate {
  const entries = Object.entries(tokens).map(([token, actor]) => ({ hash: digest(token), actor }));
  return (token) => {
    const candidate = digest(token);
    let found: Actor | undefined;
    for (const entry of entries) if (timingSafeEqual(entry.hash, candidate)) found = entry.actor;
    return found;
  };
}

/** Reads the bearer token of a request and asks `authenticate` who it is; 401 when nobody. */
export async function authenticateRequest(
  request: IncomingMessage,
  authenticate: Authenticate,
): Promise<Actor> {
  const header = request.headers.authorization ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const actor = match ? await authenticate(match[1]!, request) : undefined;
  if (!actor) {
    throw new HttpError(
      401,
      "AuthenticationException",
      "Unauthenticated: send a valid API token as 'Authorization: Bearer <token>'.",
    );
  }
  return actor;
}

/** 403 unless `actor` holds `permission`. */
export function requirePermission(actor: Actor, permission: string): void {
  if (!actor.permissions.includes(permission)) {
    throw new HttpError(
      403,
      "AccessDeniedHttpException",
      `This action is unauthorized: it needs the ${permission} permission.`,
    );
  }
}
