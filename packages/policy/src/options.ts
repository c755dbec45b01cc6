import type { PolicyOptions } from "./types.js";

/** Throws a RangeError naming the option when `value` is not an integer of at least `min`. */
function assertInteger(name: string, value: number | undefined, min: number): void {
  if (value === undefined || (Number.isSafeInteger(value) && value >= min)) return;
  throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}.`);
}

/** Throws a RangeError naming the option when `value` is not a finite number above 0. */
function assertPositive(name: string, value: number | undefined): void {
  if (value === undefined || (Number.isFinite(value) && value > 0)) return;
  throw new RangeError(`${name} must be a number above 0, got ${value}.`);
}

/**
 * Checks a server's backup limit, whether from a number or from the per-server function, so a
 * misconfiguration fails loudly instead of allowing or refusing everything.
 */
export function assertValidLimit(maxBackups: number | undefined): void {
  assertInteger("maxBackups", maxBackups, 0);
}

/**
 * Rejects options that would make a rule meaningless (negative limits, empty windows). Retention caps must
 * be at least 1: a 0 would delete every unlocked backup, which is never what a typo meant.
 */
export function assertValidOptions(options: PolicyOptions): void {
  if (typeof options.maxBackups !== "function") assertValidLimit(options.maxBackups);
  if (options.throttle !== undefined) {
    assertInteger("throttle.limit", options.throttle.limit, 1);
    assertPositive("throttle.periodMs", options.throttle.periodMs);
  }
  if (options.retention !== undefined) {
    assertInteger("retention.keepLast", options.retention.keepLast, 1);
    assertPositive("retention.maxAgeMs", options.retention.maxAgeMs);
    assertInteger("retention.maxTotalBytes", options.retention.maxTotalBytes, 1);
  }
}
