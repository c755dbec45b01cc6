import type { BackupPage, BackupRecord } from "@strongbox/core";

/**
 * The `attributes` of a backup: the panel API's names (no storage internals), then the extra attributes
 * panel clients ignore: `copies` with a replica (each `{disk, state, at, error?}`) and those of a backup
 * that was read back ({@link verificationAttributes}).
 */
export function backupAttributes(record: BackupRecord) {
  return {
    uuid: record.uuid,
    name: record.name,
    ignored_files: record.ignored_files,
    checksum: record.checksum,
    bytes: record.bytes,
    is_successful: record.is_successful,
    is_locked: record.is_locked,
    created_at: apiTimestamp(record.created_at),
    completed_at: record.completed_at === null ? null : apiTimestamp(record.completed_at),
    ...(record.copies && { copies: record.copies.map((copy) => ({ ...copy, at: apiTimestamp(copy.at) })) }),
    ...verificationAttributes(record),
  };
}

/**
 * Extra attributes, present once a backup was verified (so a backup never verified has exactly the
 * panel's shape): `verified_at` (the panel's time form), `verification` (`passed` or `failed`), and
 * `verification_error` (what was wrong) when it failed.
 */
export function verificationAttributes(record: BackupRecord) {
  if (record.verified_at === undefined || record.verification === undefined) return {};
  return {
    verified_at: apiTimestamp(record.verified_at),
    verification: record.verification,
    ...(record.verification_error === undefined ? {} : { verification_error: record.verification_error }),
  };
}

/**
 * A record's time in the panel's form, `2025-01-15T10:30:00+00:00`: whole seconds, since clients parse it
 * with PHP's `DATE_ATOM`, which refuses fractions. Records keep their milliseconds (they order backups
 * made within one second); only the API drops them.
 */
export function apiTimestamp(iso: string): string {
  const time = Date.parse(iso);
  // A manifest written by hand may hold anything: shown as it is rather than failing the whole answer.
  return Number.isNaN(time) ? iso : `${new Date(time).toISOString().slice(0, 19)}+00:00`;
}

/** `{object: "backup", attributes}`. */
export function backupObject(record: BackupRecord) {
  return { object: "backup", attributes: backupAttributes(record) };
}

/** `{object: "list", data, meta: {pagination, backup_count}}` of one page of backups. */
export function listObject(page: BackupPage) {
  return {
    object: "list",
    data: page.data.map(backupObject),
    meta: { pagination: page.pagination, backup_count: page.backup_count },
  };
}
