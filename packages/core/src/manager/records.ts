import type { BackupRecord } from "./types.js";

/** The three states of a backup, as the panel tells them apart. */
export type BackupStatus = "in_progress" | "successful" | "failed";

/** In progress while `completed_at` is null; then successful or failed. */
export function backupStatus(record: BackupRecord): BackupStatus {
  if (record.completed_at === null) return "in_progress";
  return record.is_successful ? "successful" : "failed";
}

/**
 * ISO 8601 with an explicit `+00:00` offset, as the panel API prints dates. Milliseconds are kept so
 * that backups started within the same second still sort newest first.
 */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/Z$/, "+00:00");
}

/** Sorts records newest first (by `created_at`, then uuid so the order is stable). */
export function sortNewestFirst(records: BackupRecord[]): BackupRecord[] {
  return records.sort((a, b) => {
    const byTime = Date.parse(b.created_at) - Date.parse(a.created_at);
    return byTime !== 0 ? byTime : a.uuid < b.uuid ? 1 : -1;
  });
}

/** The record with its in-progress bookkeeping dropped, once a backup has finished. */
export function finished(record: BackupRecord, changes: Partial<BackupRecord>): BackupRecord {
  const { owner: _owner, ...rest } = record;
  return { ...rest, ...changes };
}

/**
 * Checks that a parsed manifest has the fields of a {@link BackupRecord} and belongs to `server` /
 * `uuid`; returns it typed, or `undefined` when it does not look like a record.
 */
export function asBackupRecord(value: unknown, server: string, uuid: string): BackupRecord | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const ok =
    r.uuid === uuid &&
    r.server === server &&
    typeof r.name === "string" &&
    Array.isArray(r.ignored_files) &&
    (typeof r.checksum === "string" || r.checksum === null) &&
    typeof r.bytes === "number" &&
    typeof r.is_successful === "boolean" &&
    typeof r.is_locked === "boolean" &&
    typeof r.created_at === "string" &&
    (typeof r.completed_at === "string" || r.completed_at === null) &&
    typeof r.disk === "string";
  return ok ? (value as BackupRecord) : undefined;
}
