import { ALLOW, firstRefusal } from "./decision.js";
import type { BackupPolicy, CreateDecision } from "./types.js";

/**
 * One policy made of several, asked in order: the first refusal wins; a create allowed by all rotates out
 * every backup any of them listed (once each, in order); retention removes what any of them would. A
 * method a policy lacks allows, as in the manager. Use it to add rules to `createPolicy`'s, or put a
 * stricter policy first.
 *
 * @example
 * ```ts
 * const policy = combinePolicies(createPolicy({ maxBackups: 5 }), {
 *   restore: ({ serverState }) =>
 *     serverState === "running" ? refuse("SERVER_STATE_CONFLICT", "Stop the server before restoring.") : ALLOW,
 * });
 * ```
 */
export function combinePolicies(...policies: readonly BackupPolicy[]): BackupPolicy {
  return {
    create(input): CreateDecision {
      const rotate = new Set<string>();
      for (const policy of policies) {
        const decision = policy.create?.(input);
        if (decision === undefined) continue;
        if (!decision.ok) return decision;
        for (const uuid of decision.rotate ?? []) rotate.add(uuid);
      }
      return rotate.size === 0 ? ALLOW : { ok: true, rotate: [...rotate] };
    },
    delete: (input) => firstRefusal(...policies.map((policy) => () => policy.delete?.(input) ?? ALLOW)),
    setLocked: (input) => firstRefusal(...policies.map((policy) => () => policy.setLocked?.(input) ?? ALLOW)),
    restore: (input) => firstRefusal(...policies.map((policy) => () => policy.restore?.(input) ?? ALLOW)),
    download: (input) => firstRefusal(...policies.map((policy) => () => policy.download?.(input) ?? ALLOW)),
    retention: (input) => [...new Set(policies.flatMap((policy) => policy.retention?.(input) ?? []))],
  };
}
