import type { BackupPage, BackupRecord } from "@strongbox/core";

/** The `attributes` of a backup, exactly the panel API's names (no storage internals). */
export function backupAttributes(record: BackupRecord) {
  return {
    uuid: record.uuid,
    name: record.name,
    ignored_files: record.ignored_files,
    checksum: record.checksum,
    bytes: record.bytes,
    is_successful: record.is_successful,
    is_locked: record.is_locked,
    created_at: record.created_at,
    completed_at: record.completed_at,
  };
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
