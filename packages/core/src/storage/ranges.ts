import { StrongboxError } from "../errors.js";
import type { GetOptions } from "./types.js";

/** A byte range with both ends known, inclusive. */
export interface ResolvedRange {
  start: number;
  end: number;
}

/** Checks the shape of a requested range (non-negative integers, `end >= start`). Throws `INVALID_INPUT`. */
export function validateRange(range: GetOptions["range"]): void {
  if (range === undefined) return;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new StrongboxError("INVALID_INPUT", "A range must start at a whole number of bytes, 0 or more.", {
      details: { range },
    });
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new StrongboxError(
      "INVALID_INPUT",
      "A range must end at a whole byte offset no smaller than its start.",
      {
        details: { range },
      },
    );
  }
}

/**
 * Fits a requested range to an object of `size` bytes: a missing or too large `end` becomes the last byte.
 * Throws `INVALID_INPUT` when the range starts at or beyond the end of the object.
 */
export function resolveRange(range: GetOptions["range"], size: number): ResolvedRange | undefined {
  if (range === undefined) return undefined;
  if (range.start >= size) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The requested range starts at byte ${range.start}, beyond the end of the ${size}-byte object.`,
      { details: { range, size } },
    );
  }
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}
