import type { Decision, ErrorCode, Refusal } from "./types.js";

/** The answer that lets an action go ahead. */
export const ALLOW: { readonly ok: true } = Object.freeze({ ok: true });

/** Builds a refusal; `details` is left out when there are no facts to add. */
export function refuse(code: ErrorCode, message: string, details?: Record<string, unknown>): Refusal {
  return details === undefined ? { ok: false, code, message } : { ok: false, code, message, details };
}

/** Runs `decisions` in order and returns the first refusal, or allows; later ones are not asked. */
export function firstRefusal(...decisions: (() => Decision)[]): Decision {
  for (const decide of decisions) {
    const decision = decide();
    if (!decision.ok) return decision;
  }
  return ALLOW;
}
