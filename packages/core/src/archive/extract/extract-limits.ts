import { StrongboxError } from "../../errors.js";
import type { ExtractLimits } from "../types.js";

/** {@link ExtractLimits} with every limit filled in. */
export type ResolvedLimits = Required<ExtractLimits>;

/** Limits used when `ExtractOptions.limits` leaves one out. */
export const DEFAULT_EXTRACT_LIMITS: ResolvedLimits = {
  maxEntries: 10_000_000,
  maxBytes: 1024 ** 4,
  maxDepth: 256,
  maxSparseRuns: 1_000_000,
};

/** Fills in default limits; refuses with `INVALID_INPUT` a limit that is not a positive whole number. */
export function resolveLimits(limits: ExtractLimits | undefined): ResolvedLimits {
  const resolved = { ...DEFAULT_EXTRACT_LIMITS };
  for (const key of Object.keys(DEFAULT_EXTRACT_LIMITS) as (keyof ResolvedLimits)[]) {
    const value = limits?.[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new StrongboxError("INVALID_INPUT", `The extract limit ${key} must be a positive whole number.`, {
        details: { limit: key, value },
      });
    }
    resolved[key] = value;
  }
  return resolved;
}
