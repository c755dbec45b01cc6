import { type BackupPage, type BackupRecord, backupStatus, formatBytes } from "@strongbox/core";
import { backupObject, listObject } from "@strongbox/http";
import { plural } from "./format.js";

export { backupObject, listObject };

/** `Backup <uuid> "name": successful, 1.2 MiB, sha256:…, locked.` on one line. */
export function describeBackup(record: BackupRecord): string {
  const status = backupStatus(record);
  const facts: string[] = [status.replace("_", " ")];
  if (status === "successful") facts.push(formatBytes(record.bytes), record.checksum ?? "no checksum");
  if (status === "failed" && record.error) facts.push(`error: ${oneLine(record.error)}`);
  if (record.verification === "failed")
    facts.push(`verification failed: ${oneLine(record.verification_error ?? "")}`);
  if (record.is_locked) facts.push("locked");
  return `Backup ${record.uuid} ${JSON.stringify(record.name)}: ${facts.join(", ")}.`;
}

const COLUMNS = ["UUID", "STATUS", "SIZE", "CREATED (UTC)", "LOCKED", "VERIFIED", "NAME"];
const WIDTHS = [36, 11, 10, 16, 6, 8];

/** The page as a table (newest first), with a last line saying where it sits among all backups. */
export function backupTable(page: BackupPage): string[] {
  const rows = page.data.map((record) => [
    record.uuid,
    backupStatus(record).replace("_", " "),
    record.completed_at === null || !record.is_successful ? "-" : formatBytes(record.bytes),
    new Date(record.created_at).toISOString().slice(0, 16).replace("T", " "),
    record.is_locked ? "yes" : "no",
    // Loud: a backup whose archive no longer matches its record stands out in capitals.
    record.verification === "failed" ? "FAILED" : (record.verification ?? "-"),
    record.name,
  ]);
  const { current_page, total_pages } = page.pagination;
  const footer = `Page ${current_page} of ${total_pages} (${plural(page.backup_count, "backup")}).`;
  return [...[COLUMNS, ...rows].map(alignRow), footer];
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ");
}

function alignRow(cells: string[]): string {
  return cells.map((cell, index) => cell.padEnd(WIDTHS[index] ?? 0)).join("  ");
}
