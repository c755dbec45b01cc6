import { describe, expect, it } from "vitest";
import type { Actor, BackupRecord, CreateDecision, PolicyOptions } from "../src/index.js";
import { createPolicy } from "../src/index.js";
import { createInput, DAY, input, MINUTE, record, successful } from "./records.js";

const everything: Actor = {
  id: "owner",
  permissions: ["backup.create", "backup.read", "backup.download", "backup.restore", "backup.delete"],
};
const creator: Actor = { id: "user", permissions: ["backup.create"] };
const nobody: Actor = { id: "guest", permissions: [] };

const LIMIT = "This server has reached its backup limit.";
const refused = (code: string, message: string) => expect.objectContaining({ ok: false, code, message });

describe("createPolicy().create", () => {
  it.each<{
    case: string;
    options: PolicyOptions;
    backups: BackupRecord[];
    ask: Partial<Parameters<typeof createInput>[1]>;
    expected: CreateDecision | ReturnType<typeof refused>;
  }>([
    {
      case: "no options allow",
      options: {},
      backups: successful(50),
      ask: { actor: creator },
      expected: { ok: true },
    },
    {
      case: "backup.create is needed",
      options: {},
      backups: [],
      ask: { actor: nobody },
      expected: refused("PERMISSION_DENIED", "You need the backup.create permission to create a backup."),
    },
    {
      case: "creating locked needs backup.delete",
      options: {},
      backups: [],
      ask: { actor: creator, locked: true },
      expected: refused(
        "PERMISSION_DENIED",
        "You need the backup.delete permission to create a locked backup.",
      ),
    },
    {
      case: "creating locked with backup.delete",
      options: {},
      backups: [],
      ask: { actor: everything, locked: true },
      expected: { ok: true },
    },
    {
      case: "no actor skips permissions",
      options: {},
      backups: [],
      ask: { locked: true },
      expected: { ok: true },
    },
    {
      case: "requirePermissions false skips permissions",
      options: { requirePermissions: false },
      backups: [],
      ask: { actor: nobody, locked: true },
      expected: { ok: true },
    },
    {
      case: "a manual backup at the limit is refused",
      options: { maxBackups: 2 },
      backups: successful(2),
      ask: {},
      expected: refused("BACKUP_LIMIT_REACHED", LIMIT),
    },
    {
      case: "a scheduled backup at the limit rotates the oldest",
      options: { maxBackups: 2 },
      backups: successful(2),
      ask: { scheduled: true },
      expected: { ok: true, rotate: ["b2"] },
    },
    {
      case: "rotateScheduled false refuses a scheduled backup at the limit",
      options: { maxBackups: 2, rotateScheduled: false },
      backups: successful(2),
      ask: { scheduled: true },
      expected: refused("BACKUP_LIMIT_REACHED", LIMIT),
    },
    {
      case: "a scheduled backup is refused when nothing can be rotated",
      options: { maxBackups: 1 },
      backups: [record("l", { locked: true })],
      ask: { scheduled: true },
      expected: refused("BACKUP_LIMIT_REACHED", LIMIT),
    },
    {
      case: "limit 0 refuses a scheduled backup",
      options: { maxBackups: 0 },
      backups: [],
      ask: { scheduled: true },
      expected: refused("BACKUP_LIMIT_REACHED", LIMIT),
    },
    {
      case: "a scheduled backup below the limit rotates nothing",
      options: { maxBackups: 3 },
      backups: successful(2),
      ask: { scheduled: true },
      expected: { ok: true },
    },
    {
      case: "the throttle is asked before the limit",
      options: { maxBackups: 2, throttle: { limit: 2, periodMs: 10 * MINUTE } },
      backups: successful(2),
      ask: { scheduled: true },
      expected: refused(
        "THROTTLED",
        "Only 2 backups may be created every 10 minutes; try again in 480 seconds.",
      ),
    },
    {
      case: "permissions are asked before the throttle",
      options: { throttle: { limit: 1, periodMs: DAY } },
      backups: successful(1),
      ask: { actor: nobody },
      expected: refused("PERMISSION_DENIED", "You need the backup.create permission to create a backup."),
    },
  ])("$case", ({ options, backups, ask, expected }) => {
    expect(createPolicy(options).create?.(createInput(backups, ask))).toEqual(expected);
  });

  it("asks a per-server limit function with the server id", () => {
    const policy = createPolicy({ maxBackups: (server) => (server === "small" ? 1 : undefined) });
    const backups = successful(3);
    expect(policy.create?.(createInput(backups, { server: "small" }))).toMatchObject({
      code: "BACKUP_LIMIT_REACHED",
    });
    expect(policy.create?.(createInput(backups, { server: "big" }))).toEqual({ ok: true });
  });

  it("throws when a per-server limit function returns an invalid limit", () => {
    const policy = createPolicy({ maxBackups: () => -1 });
    expect(() => policy.create?.(createInput([]))).toThrow(
      new RangeError("maxBackups must be an integer of at least 0, got -1."),
    );
  });
});

describe("createPolicy().delete / setLocked / download", () => {
  const policy = createPolicy({});
  const locked = record("l", { locked: true });
  const plain = record("p");

  it.each([
    { case: "unlocked, no actor", actor: undefined, backup: plain, expected: { ok: true } },
    { case: "unlocked, with backup.delete", actor: everything, backup: plain, expected: { ok: true } },
    {
      case: "without backup.delete",
      actor: creator,
      backup: plain,
      expected: refused("PERMISSION_DENIED", "You need the backup.delete permission to delete a backup."),
    },
    {
      case: "locked, no actor",
      actor: undefined,
      backup: locked,
      expected: refused("BACKUP_LOCKED", "Cannot delete a locked backup."),
    },
    {
      case: "locked, with backup.delete",
      actor: everything,
      backup: locked,
      expected: refused("BACKUP_LOCKED", "Cannot delete a locked backup."),
    },
  ])("delete: $case", ({ actor, backup, expected }) => {
    expect(policy.delete?.({ ...input([backup], { actor }), backup })).toEqual(expected);
  });

  it.each([
    { locked: true, actor: everything, expected: { ok: true } },
    { locked: false, actor: undefined, expected: { ok: true } },
    {
      locked: true,
      actor: creator,
      expected: refused("PERMISSION_DENIED", "You need the backup.delete permission to lock a backup."),
    },
    {
      locked: false,
      actor: creator,
      expected: refused("PERMISSION_DENIED", "You need the backup.delete permission to unlock a backup."),
    },
  ])("setLocked($locked) by $actor.id", ({ locked: lock, actor, expected }) => {
    expect(policy.setLocked?.({ ...input([plain], { actor }), backup: plain, locked: lock })).toEqual(
      expected,
    );
  });

  it.each([
    { case: "successful, with backup.download", actor: everything, backup: plain, expected: { ok: true } },
    {
      case: "without backup.download",
      actor: creator,
      backup: plain,
      expected: refused("PERMISSION_DENIED", "You need the backup.download permission to download a backup."),
    },
    {
      case: "in progress",
      actor: undefined,
      backup: record("r", { status: "in_progress" }),
      expected: refused(
        "BACKUP_NOT_SUCCESSFUL",
        "This backup is still in progress; wait for it to complete before you download it.",
      ),
    },
  ])("download: $case", ({ actor, backup, expected }) => {
    expect(policy.download?.({ ...input([backup], { actor }), backup })).toEqual(expected);
  });
});

describe("createPolicy().restore", () => {
  const policy = createPolicy({});
  const STATE = "This server is not currently in a state that allows for a backup to be restored.";

  it.each([
    {
      case: "successful backup, offline server",
      actor: everything,
      backup: record("a"),
      state: "offline",
      expected: { ok: true },
    },
    {
      case: "without backup.restore",
      actor: creator,
      backup: record("a"),
      state: "offline",
      expected: refused("PERMISSION_DENIED", "You need the backup.restore permission to restore a backup."),
    },
    {
      case: "installing server",
      actor: undefined,
      backup: record("a"),
      state: "installing",
      expected: refused("SERVER_STATE_CONFLICT", STATE),
    },
    {
      case: "already restoring",
      actor: undefined,
      backup: record("a"),
      state: "restoring_backup",
      expected: refused("SERVER_STATE_CONFLICT", STATE),
    },
    {
      case: "failed backup",
      actor: undefined,
      backup: record("f", { status: "failed" }),
      state: "running",
      expected: refused(
        "BACKUP_NOT_SUCCESSFUL",
        "This backup failed and has nothing to restore; choose a successful backup.",
      ),
    },
    {
      case: "server state is asked before the backup's status",
      actor: undefined,
      backup: record("f", { status: "failed" }),
      state: "suspended",
      expected: refused("SERVER_STATE_CONFLICT", STATE),
    },
  ])("$case", ({ actor, backup, state, expected }) => {
    expect(policy.restore?.({ ...input([backup], { actor }), backup, serverState: state })).toEqual(expected);
  });
});

describe("createPolicy().retention", () => {
  it("removes nothing unless retention is configured", () => {
    expect(createPolicy({}).retention?.(input(successful(5)))).toEqual([]);
  });

  it("returns the uuids the retention plan removes", () => {
    const policy = createPolicy({ retention: { keepLast: 2 } });
    expect(policy.retention?.(input(successful(4)))).toEqual(["b3", "b4"]);
  });
});
