import { describe, expect, it } from "vitest";
import type { Actor } from "../src/index.js";
import { checkLockPermission, checkNotLocked } from "../src/index.js";
import { record } from "./records.js";

const deleter: Actor = { id: "admin", permissions: ["backup.create", "backup.delete"] };
const creator: Actor = { id: "user", permissions: ["backup.create", "backup.read"] };

describe("checkNotLocked", () => {
  it.each([
    { case: "successful", status: "successful" as const },
    { case: "in progress", status: "in_progress" as const },
  ])("refuses to delete a locked $case backup", ({ status }) => {
    expect(checkNotLocked(record("a", { locked: true, status }))).toEqual({
      ok: false,
      code: "BACKUP_LOCKED",
      message: "Cannot delete a locked backup.",
      details: { backup: "a" },
    });
  });

  it("allows deleting an unlocked backup", () => {
    expect(checkNotLocked(record("a"))).toEqual({ ok: true });
  });

  it("allows deleting a locked failed backup: it has no archive to protect", () => {
    expect(checkNotLocked(record("a", { locked: true, status: "failed" }))).toEqual({ ok: true });
  });
});

describe("checkLockPermission", () => {
  it.each([
    { change: "lock" as const, actor: deleter },
    { change: "unlock" as const, actor: deleter },
    { change: "create-locked" as const, actor: deleter },
    { change: "lock" as const, actor: undefined },
    { change: "create-locked" as const, actor: undefined },
  ])("allows $change by $actor.id (no actor: the system)", ({ change, actor }) => {
    expect(checkLockPermission(actor, change)).toEqual({ ok: true });
  });

  it.each([
    { change: "lock" as const, message: "You need the backup.delete permission to lock a backup." },
    { change: "unlock" as const, message: "You need the backup.delete permission to unlock a backup." },
    {
      change: "create-locked" as const,
      message: "You need the backup.delete permission to create a locked backup.",
    },
  ])("refuses $change without backup.delete", ({ change, message }) => {
    expect(checkLockPermission(creator, change)).toEqual({
      ok: false,
      code: "PERMISSION_DENIED",
      message,
      details: { permission: "backup.delete", actor: "user" },
    });
  });
});
