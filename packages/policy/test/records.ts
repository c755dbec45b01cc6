import type { BackupPolicy, BackupRecord, BackupVerification, PolicyInput } from "../src/index.js";

/** The fixed clock every test decides at. */
export const NOW = new Date("2025-01-15T12:00:00.000Z");
export const MINUTE = 60_000;
export const DAY = 86_400_000;

type Status = "successful" | "failed" | "in_progress";

/** A backup of server `srv` created `ageMs` before {@link NOW}, or at the instant `at` (ISO 8601). */
export function record(
  uuid: string,
  {
    status = "successful",
    ageMs = 0,
    locked = false,
    bytes,
    at,
    verification,
  }: {
    status?: Status;
    ageMs?: number;
    locked?: boolean;
    bytes?: number;
    at?: string;
    verification?: BackupVerification;
  } = {},
): BackupRecord {
  const created = at === undefined ? new Date(NOW.getTime() - ageMs) : new Date(at);
  return {
    uuid,
    server: "srv",
    name: uuid,
    ignored_files: [],
    checksum: status === "successful" ? "sha256:00" : null,
    bytes: bytes ?? (status === "successful" ? 100 : 0),
    is_successful: status === "successful",
    is_locked: locked,
    created_at: created.toISOString().replace("Z", "+00:00"),
    completed_at: status === "in_progress" ? null : created.toISOString(),
    disk: "local",
    ...(verification === undefined ? {} : { verified_at: NOW.toISOString(), verification }),
  };
}

/** What the manager tells a policy, newest first as the manager passes it. */
export function input(backups: BackupRecord[], extra: Partial<PolicyInput> = {}): PolicyInput {
  return { server: "srv", now: NOW, backups, ...extra };
}

/** A create question, as for a manual, unlocked backup unless told otherwise. */
export function createInput(
  backups: BackupRecord[],
  extra: Partial<Parameters<NonNullable<BackupPolicy["create"]>>[0]> = {},
) {
  return { ...input(backups), locked: false, scheduled: false, ...extra };
}

/** `n` successful backups `b1` (newest) .. `bn` (oldest), one minute apart. */
export function successful(n: number): BackupRecord[] {
  return Array.from({ length: n }, (_, i) => record(`b${i + 1}`, { ageMs: (i + 1) * MINUTE }));
}
