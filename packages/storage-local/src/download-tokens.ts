import { randomUUID } from "node:crypto";
import { DEFAULT_DOWNLOAD_EXPIRY_SECONDS, StrongboxError, validateKey } from "@strongbox/core/parts";

/** Shortest secret accepted for signing download tokens, in bytes (HS256 wants a key as long as its hash). */
export const MIN_SECRET_BYTES = 32;

const AUDIENCE = "strongbox:download";

/** Options of {@link createDownloadTokens}. */
export interface DownloadTokenOptions {
  /** Secret the tokens are signed with (HS256), at least 32 bytes. Keep it out of logs and URLs. */
  secret: string | Uint8Array;
  /** Accept each token once: a second use is refused until the token would have expired anyway. */
  singleUse?: boolean;
  /** Clock in milliseconds since the epoch (default `Date.now`); tests move it to expire tokens. */
  now?: () => number;
}

/** What a valid download token grants: one object, under a file name, until a moment. */
export interface DownloadGrant {
  /** Storage key of the object. */
  key: string;
  /** File name to offer the browser. */
  filename: string;
  /** The token's unique id. */
  id: string;
  expiresAt: Date;
}

/** Issues and checks signed download tokens. */
export interface DownloadTokens {
  /** A token for one object, valid `expiresIn` seconds (default 900). */
  issue(key: string, options: { filename: string; expiresIn?: number }): Promise<string>;
  /** Checks signature, audience and expiry. Rejects with `PERMISSION_DENIED` when any fails. */
  verify(token: string): Promise<DownloadGrant>;
  /** Marks a grant used; with `singleUse`, throws `PERMISSION_DENIED` when it was used before. */
  consume(grant: DownloadGrant): void;
}

/**
 * jose, loaded the first time a token is signed or checked: it is 80 ms of module loading that a process
 * only backing up or restoring (every `strongbox` command but `serve`) never needs.
 */
let joseModule: Promise<typeof import("jose")> | undefined;
const jose = () => (joseModule ??= import("jose"));

/** Signs and checks download tokens: JWTs `{sub: key, filename, exp, jti}` signed with HS256 (jose). */
export function createDownloadTokens(options: DownloadTokenOptions): DownloadTokens {
  const secret =
    typeof options.secret === "string" ? new TextEncoder().encode(options.secret) : options.secret;
  if (!(secret instanceof Uint8Array) || secret.byteLength < MIN_SECRET_BYTES) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The download secret must be at least ${MIN_SECRET_BYTES} bytes; generate one with \`openssl rand -hex 32\`.`,
    );
  }
  const now = options.now ?? Date.now;
  // Ids of single-use tokens already spent, with their expiry: forgotten once the token is dead anyway.
  const spent = new Map<string, number>();

  return {
    async issue(key, { filename, expiresIn = DEFAULT_DOWNLOAD_EXPIRY_SECONDS }) {
      const issuedAt = Math.floor(now() / 1000);
      const { SignJWT } = await jose();
      return new SignJWT({ filename })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(key)
        .setAudience(AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + expiresIn)
        .setJti(randomUUID())
        .sign(secret);
    },

    async verify(token) {
      const { errors, jwtVerify } = await jose();
      try {
        const { payload } = await jwtVerify(token, secret, {
          algorithms: ["HS256"],
          audience: AUDIENCE,
          currentDate: new Date(now()),
          requiredClaims: ["sub", "exp", "jti"],
        });
        const { sub, jti, exp, filename } = payload;
        if (typeof sub !== "string" || typeof jti !== "string" || typeof exp !== "number") throw denied();
        if (typeof filename !== "string") throw denied();
        return { key: validateKey(sub), filename, id: jti, expiresAt: new Date(exp * 1000) };
      } catch (error) {
        if (error instanceof errors.JOSEError || error instanceof StrongboxError) throw denied(error);
        throw error;
      }
    },

    consume(grant) {
      if (!options.singleUse) return;
      const at = now();
      for (const [id, expiresAt] of spent) if (expiresAt <= at) spent.delete(id);
      if (spent.has(grant.id)) throw denied();
      spent.set(grant.id, grant.expiresAt.getTime());
    },
  };
}

function denied(cause?: unknown): StrongboxError {
  return new StrongboxError(
    "PERMISSION_DENIED",
    "This download link is invalid or has expired; ask for a new one.",
    {
      cause,
    },
  );
}
