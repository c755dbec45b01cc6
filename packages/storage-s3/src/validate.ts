import { StrongboxError, validatePrefix } from "@strongbox/core/parts";

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Rejects names S3 would refuse: 3-63 lowercase letters, digits, dots and hyphens. */
export function validateBucketName(bucket: string): string {
  if (!BUCKET_NAME.test(bucket)) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `"${bucket}" is not a valid S3 bucket name: use 3 to 63 lowercase letters, digits, dots and hyphens.`,
      { details: { bucket } },
    );
  }
  return bucket;
}

/**
 * Turns `/a/b/` into `a/b`. The rest follows the rules of storage keys (core's `validatePrefix`), since the
 * prefix becomes part of every key.
 */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? "" : validatePrefix(trimmed).slice(0, -1);
}

/** Checks that `value` is an integer in `[min, max]`; `what` names it in the message. */
export function validateInteger(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new StrongboxError("INVALID_INPUT", `${what} must be a whole number from ${min} to ${max}.`, {
      details: { value },
    });
  }
  return value;
}

/** Checks that `endpoint` is an http(s) URL without path, query or credentials. */
export function validateEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw invalidEndpoint(endpoint);
  }
  const plain = url.username === "" && url.password === "" && url.search === "" && url.hash === "";
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !plain) throw invalidEndpoint(endpoint);
  return endpoint;
}

function invalidEndpoint(endpoint: string): StrongboxError {
  return new StrongboxError(
    "INVALID_INPUT",
    `The S3 endpoint "${endpoint}" is not an http(s) URL such as "https://s3.example.com" or "http://127.0.0.1:9000".`,
    { details: { endpoint } },
  );
}

/** Checks a region name such as `us-east-1` or `auto`. */
export function validateRegion(region: string): string {
  if (!/^[a-z0-9-]{1,64}$/.test(region)) {
    throw new StrongboxError("INVALID_INPUT", `"${region}" is not a region name such as "us-east-1".`, {
      details: { region },
    });
  }
  return region;
}
