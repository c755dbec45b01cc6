import { createdAtMs } from "./records.js";
import type { BackupRecord, PolicyInput } from "./types.js";

/**
 * The backups a policy has been shown lately, deleted ones included. The records alone forget a creation
 * as soon as its backup is deleted (by a person, by rotation or by retention), so create-then-delete would
 * get round the throttle; the panel counts deleted backups too. Kept in memory: a restart forgets, and a
 * backup deleted without the policy ever being shown it is not known.
 */
export interface RecentBackups {
  /**
   * Notes the backups `input` shows (their latest state wins) and returns every backup of the server
   * created within the period before `input.now`, the deleted ones in the last state they were seen in.
   */
  note(input: PolicyInput): BackupRecord[];
}

/** Remembers, per server, the backups created within the last `periodMs`; older ones are dropped as seen. */
export function rememberRecentBackups(periodMs: number): RecentBackups {
  // Keyed by uuid in a Map, not a plain object: a uuid is data and could be `__proto__`.
  const servers = new Map<string, Map<string, BackupRecord>>();
  return {
    note({ server, now, backups }) {
      const known = servers.get(server) ?? new Map<string, BackupRecord>();
      for (const backup of backups) known.set(backup.uuid, backup);
      const windowStart = now.getTime() - periodMs;
      // `!(... > ...)` also drops a backup whose `created_at` does not parse: the throttle ignores it anyway.
      for (const [uuid, backup] of known) if (!(createdAtMs(backup) > windowStart)) known.delete(uuid);
      if (known.size === 0) servers.delete(server);
      else servers.set(server, known);
      return [...known.values()];
    },
  };
}
