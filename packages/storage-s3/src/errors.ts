import { isStrongboxError, StrongboxError } from "@strongbox/core/parts";

/** What was being done when an SDK call failed, to say so in the message. */
export interface S3ErrorContext {
  /** A verb such as `upload`, `read`, `list the objects of`, completing "Could not ...". */
  action: string;
  bucket: string;
  /** The full object key, when the call was about one object. */
  key?: string;
  /** Where requests go, e.g. `http://127.0.0.1:9000` or `AWS S3`. */
  endpoint: string;
  /** The adapter writes with Object Lock, so a refused delete is most likely the lock. */
  objectLock?: boolean;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);
const DROPPED_CODES = new Set(["ECONNRESET", "EPIPE"]);
const DENIED_NAMES = new Set(["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"]);

/**
 * True when S3 answered 404 for the object (or upload) rather than for the bucket. HEAD answers carry no
 * body, so there a missing bucket looks like a missing object.
 */
export function isNotFound(error: unknown): boolean {
  const e = error as SdkErrorShape | undefined;
  return e?.$metadata?.httpStatusCode === 404 && e.name !== "NoSuchBucket";
}

/** True when S3 refused a byte range that starts beyond the end of the object. */
export function isInvalidRange(error: unknown): boolean {
  const e = error as SdkErrorShape | undefined;
  return e?.name === "InvalidRange" || e?.$metadata?.httpStatusCode === 416;
}

/**
 * Turns an SDK failure into a `STORAGE_ERROR` whose message says what went wrong in terms a person can
 * fix: a missing bucket, refused credentials, an unreachable endpoint. StrongboxErrors pass through.
 */
export function toStorageError(error: unknown, context: S3ErrorContext): StrongboxError {
  if (isStrongboxError(error)) return error;
  const e = (error ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const details = { ...context, sdkError: e.name, code: e.code, status };
  return new StrongboxError("STORAGE_ERROR", describe(e, status, context), { cause: error, details });
}

function describe(e: SdkErrorShape, status: number | undefined, c: S3ErrorContext): string {
  const target = c.key === undefined ? `bucket "${c.bucket}"` : `"${c.key}" (bucket "${c.bucket}")`;
  const failed = `Could not ${c.action} ${target} on S3`;
  if (e.code !== undefined && UNREACHABLE_CODES.has(e.code)) {
    return `${failed}: ${c.endpoint} could not be reached (${e.code}); check the endpoint URL and that the service is up.`;
  }
  if (e.code !== undefined && DROPPED_CODES.has(e.code)) {
    return `${failed}: the connection to ${c.endpoint} was lost on every attempt (${e.code}); check the network and the service.`;
  }
  if (e.name === "TimeoutError") {
    return `${failed}: ${c.endpoint} did not answer in time; check the endpoint URL and the network.`;
  }
  if (e.name === "NoSuchBucket") {
    return `${failed}: the bucket does not exist at ${c.endpoint}; create it or correct the storage URL.`;
  }
  if (status === 403 && (c.objectLock || /object ?lock|retention|worm/i.test(e.message ?? ""))) {
    return `${failed}: the bucket refused it, the object being under S3 Object Lock retention; it can be deleted once its retain-until date has passed (in GOVERNANCE mode, also by a user allowed s3:BypassGovernanceRetention).`;
  }
  if ((e.name !== undefined && DENIED_NAMES.has(e.name)) || status === 403) {
    return `${failed}: access was denied (${e.name ?? status}); check the access key and secret (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS profile) and the bucket policy.`;
  }
  if (e.name === "CredentialsProviderError") {
    return `${failed}: no AWS credentials were found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or configure an AWS profile.`;
  }
  if (e.message === "Region is missing") {
    return `${failed}: no region is set; add "?region=" to the storage URL or set AWS_REGION.`;
  }
  const said = (e.message ?? "no message").replace(/\.$/, "");
  return `${failed}: ${e.name ?? "error"}${status === undefined ? "" : ` (HTTP ${status})`}: ${said}.`;
}
