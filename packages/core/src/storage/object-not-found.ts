import { StrongboxError } from "../errors.js";

/** The `NOT_FOUND` error every adapter throws for a key that holds no object. */
export function objectNotFound(key: string): StrongboxError {
  return new StrongboxError("NOT_FOUND", `No stored object has the key "${key}".`, { details: { key } });
}
