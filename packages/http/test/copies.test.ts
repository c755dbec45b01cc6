import type { BackupRecord } from "@strongbox/core";
import { describe, expect, it } from "vitest";
import { backupAttributes } from "../src/index.js";

const RECORD: BackupRecord = {
  uuid: "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e",
  server: "srv-1",
  name: "Nightly",
  ignored_files: [],
  checksum: `sha256:${"a".repeat(64)}`,
  bytes: 1024,
  is_successful: true,
  is_locked: false,
  created_at: "2025-01-15T10:30:00.250+00:00",
  completed_at: "2025-01-15T10:30:02.750+00:00",
  disk: "local",
};

describe("the copies attribute", () => {
  it("lists each replica copy with its state, times in the panel's form", () => {
    const record: BackupRecord = {
      ...RECORD,
      copies: [
        { disk: "s3", state: "failed", at: "2025-01-15T10:31:00.500+00:00", error: "The bucket is gone." },
      ],
    };
    expect(backupAttributes(record).copies).toEqual([
      { disk: "s3", state: "failed", at: "2025-01-15T10:31:00+00:00", error: "The bucket is gone." },
    ]);
  });

  it("is absent when the record has no copies, so the panel's shape is unchanged", () => {
    expect(Object.keys(backupAttributes(RECORD))).toEqual([
      "uuid",
      "name",
      "ignored_files",
      "checksum",
      "bytes",
      "is_successful",
      "is_locked",
      "created_at",
      "completed_at",
    ]);
  });
});
