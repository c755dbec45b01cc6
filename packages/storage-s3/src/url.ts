import { StrongboxError } from "@strongbox/core/parts";
import type { S3StorageOptions } from "./types.js";
import { normalizePrefix, validateBucketName, validateEndpoint, validateRegion } from "./validate.js";

/** The options a storage URL can carry; credentials always come from the standard AWS chain. */
export type S3UrlOptions = Pick<
  S3StorageOptions,
  "bucket" | "prefix" | "endpoint" | "region" | "forcePathStyle" | "requestChecksumCalculation" | "objectLock"
>;

const QUERY_OPTIONS = [
  "endpoint",
  "region",
  "forcePathStyle",
  "requestChecksumCalculation",
  "objectLockMode",
  "objectLockDays",
];

/**
 * Reads a storage URL `s3://bucket/optional/prefix?endpoint=…&region=…&forcePathStyle=true`
 * (`requestChecksumCalculation=WHEN_REQUIRED|WHEN_SUPPORTED`, and `objectLockMode=GOVERNANCE|COMPLIANCE`
 * with `objectLockDays=N` for Object Lock, too) into options for
 * {@link createS3Storage}. Throws `INVALID_INPUT` for anything else, including credentials in the URL.
 *
 * @example
 * ```ts
 * parseS3Url("s3://backups/node-1?endpoint=http://127.0.0.1:9000&forcePathStyle=true")
 * // { bucket: "backups", prefix: "node-1", endpoint: "http://127.0.0.1:9000", forcePathStyle: true }
 * ```
 */
export function parseS3Url(url: string): S3UrlOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(url, "it is not a URL");
  }
  if (parsed.protocol !== "s3:") throw invalid(url, `it starts with "${parsed.protocol}//", not "s3://"`);
  if (parsed.username !== "" || parsed.password !== "") {
    throw invalid(url, "it holds credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead");
  }
  if (parsed.port !== "" || parsed.hash !== "") throw invalid(url, "a bucket has no port or #fragment");
  const options: S3UrlOptions = { bucket: validateBucketName(parsed.hostname) };
  const prefix = normalizePrefix(decodePath(url, rawPath(url)));
  if (prefix !== "") options.prefix = prefix;

  for (const name of new Set(parsed.searchParams.keys())) {
    const values = parsed.searchParams.getAll(name);
    if (!QUERY_OPTIONS.includes(name)) {
      throw invalid(url, `"${name}" is not an option; use ${QUERY_OPTIONS.join(", ")}`);
    }
    if (values.length > 1) throw invalid(url, `"${name}" is given ${values.length} times`);
    readOption(options, name, values[0] ?? "", url);
  }
  const mode = parsed.searchParams.get("objectLockMode");
  const days = parsed.searchParams.get("objectLockDays");
  if ((mode === null) !== (days === null))
    throw invalid(url, "objectLockMode and objectLockDays go together");
  if (mode !== null && days !== null) options.objectLock = readObjectLock(mode, days, url);
  return options;
}

function readObjectLock(mode: string, days: string, url: string): S3UrlOptions["objectLock"] {
  if (mode !== "GOVERNANCE" && mode !== "COMPLIANCE") {
    throw invalid(url, "objectLockMode must be GOVERNANCE or COMPLIANCE");
  }
  if (!/^[1-9][0-9]{0,4}$/.test(days))
    throw invalid(url, "objectLockDays must be a whole number of days from 1");
  return { mode, days: Number(days) };
}

function readOption(options: S3UrlOptions, name: string, value: string, url: string): void {
  switch (name) {
    case "endpoint":
      options.endpoint = validateEndpoint(value);
      return;
    case "region":
      options.region = validateRegion(value);
      return;
    case "forcePathStyle":
      if (value !== "true" && value !== "false") throw invalid(url, "forcePathStyle must be true or false");
      options.forcePathStyle = value === "true";
      return;
    case "objectLockMode":
    case "objectLockDays":
      return; // read together, once every option is known
    default:
      if (value !== "WHEN_REQUIRED" && value !== "WHEN_SUPPORTED") {
        throw invalid(url, "requestChecksumCalculation must be WHEN_REQUIRED or WHEN_SUPPORTED");
      }
      options.requestChecksumCalculation = value;
  }
}

/** The path as written: `URL` would already have resolved `a/../b` to `b`, hiding a mistake. */
function rawPath(url: string): string {
  const afterScheme = url.slice(url.indexOf("//") + 2).replace(/[?#].*$/s, "");
  const slash = afterScheme.indexOf("/");
  return slash === -1 ? "" : afterScheme.slice(slash);
}

function decodePath(url: string, pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    throw invalid(url, "its path is not valid percent-encoding");
  }
}

function invalid(url: string, reason: string): StrongboxError {
  return new StrongboxError(
    "INVALID_INPUT",
    `The storage URL "${url}" is not a valid S3 URL: ${reason}. Expected s3://bucket/optional/prefix?region=…`,
    { details: { url } },
  );
}
