import { S3Client } from "@aws-sdk/client-s3";
import { StrongboxError } from "@strongbox/core/parts";
import type { ObjectLockOptions, S3StorageOptions } from "./types.js";
import {
  normalizePrefix,
  validateBucketName,
  validateEndpoint,
  validateInteger,
  validateRegion,
} from "./validate.js";

const MiB = 1024 * 1024;
/** S3 refuses parts under 5 MiB (except the last) and over 5 GiB. */
const MIN_PART_SIZE = 5 * MiB;
const MAX_PART_SIZE = 5 * 1024 * MiB;
const DAY_MS = 86_400_000;

/** Validated options with defaults applied, and the client to talk through. */
export interface S3Settings {
  client: S3Client;
  bucket: string;
  /** Normalized, without slashes at either end; `""` for none. */
  prefix: string;
  partSize: number;
  queueSize: number;
  pageSize: number;
  /** Where requests go, for error messages. */
  endpointLabel: string;
  now: () => Date;
  objectLock: ObjectLockOptions | undefined;
  /** `false`: abandoned uploads are left alone. */
  abandonedUploadAgeMs: number | false;
  debug: (message: string) => void;
}

const CLIENT_OPTIONS = [
  "endpoint",
  "region",
  "forcePathStyle",
  "credentials",
  "requestChecksumCalculation",
  "maxAttempts",
] as const;

/** Validates `options`, fills in defaults and builds the client unless one was given. */
export function resolveSettings(options: S3StorageOptions): S3Settings {
  const conflicting = options.client ? CLIENT_OPTIONS.filter((name) => options[name] !== undefined) : [];
  if (conflicting.length > 0) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The S3 options ${conflicting.join(", ")} configure a client, so they cannot be combined with an injected client.`,
      { details: { conflicting } },
    );
  }
  return {
    bucket: validateBucketName(options.bucket),
    prefix: normalizePrefix(options.prefix ?? ""),
    partSize: validateInteger(options.partSize ?? 8 * MiB, MIN_PART_SIZE, MAX_PART_SIZE, "The S3 part size"),
    queueSize: validateInteger(options.queueSize ?? 4, 1, 64, "The number of parallel S3 parts"),
    pageSize: validateInteger(options.pageSize ?? 1000, 1, 1000, "The S3 list page size"),
    endpointLabel: options.endpoint ?? (options.client ? "the configured S3 endpoint" : "AWS S3"),
    now: options.now ?? (() => new Date()),
    objectLock: options.objectLock && validateObjectLock(options.objectLock),
    abandonedUploadAgeMs:
      options.abandonedUploadAgeMs === false
        ? false
        : validateInteger(
            options.abandonedUploadAgeMs ?? DAY_MS,
            60_000,
            Number.MAX_SAFE_INTEGER,
            "The age of an abandoned S3 upload in milliseconds",
          ),
    debug: options.debug ?? (() => {}),
    // Last, so that nothing is built from options that fail validation.
    client: options.client ?? createClient(options),
  };
}

function validateObjectLock({ mode, days }: ObjectLockOptions): ObjectLockOptions {
  if (mode !== "GOVERNANCE" && mode !== "COMPLIANCE") {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The S3 Object Lock mode must be GOVERNANCE or COMPLIANCE, not ${JSON.stringify(mode)}.`,
      { details: { mode } },
    );
  }
  return { mode, days: validateInteger(days, 1, 36_500, "The S3 Object Lock retention in days") };
}

function createClient(options: S3StorageOptions): S3Client {
  const endpoint = options.endpoint === undefined ? undefined : validateEndpoint(options.endpoint);
  return new S3Client({
    endpoint,
    region: options.region === undefined ? undefined : validateRegion(options.region),
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
    maxAttempts:
      options.maxAttempts === undefined
        ? undefined
        : validateInteger(options.maxAttempts, 1, 20, "The number of S3 request attempts"),
    requestChecksumCalculation:
      options.requestChecksumCalculation ?? (endpoint === undefined ? "WHEN_SUPPORTED" : "WHEN_REQUIRED"),
  });
}
