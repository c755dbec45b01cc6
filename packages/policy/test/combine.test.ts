import { describe, expect, it } from "vitest";
import type { BackupInput, BackupPolicy, Decision } from "../src/index.js";
import { ALLOW, combinePolicies, createPolicy, refuse } from "../src/index.js";
import { createInput, input, record, successful } from "./records.js";

const backup = record("a", { locked: true });
const deleteInput = { ...input([backup]), backup };

describe("combinePolicies", () => {
  it("allows everything when no policy has a rule", () => {
    const policy = combinePolicies({}, {});
    expect(policy.create?.(createInput([]))).toEqual({ ok: true });
    expect(policy.delete?.(deleteInput)).toEqual({ ok: true });
    expect(policy.setLocked?.({ ...deleteInput, locked: false })).toEqual({ ok: true });
    expect(policy.restore?.({ ...deleteInput, serverState: "installing" })).toEqual({ ok: true });
    expect(policy.download?.(deleteInput)).toEqual({ ok: true });
    expect(policy.retention?.(input([]))).toEqual([]);
  });

  it("returns the first refusal, in the order given, and asks no further", () => {
    const asked: string[] = [];
    const rule =
      (name: string, decision: Decision) =>
      (_: BackupInput): Decision => {
        asked.push(name);
        return decision;
      };
    const policy = combinePolicies(
      { delete: rule("first", ALLOW) },
      { delete: rule("second", refuse("INVALID_INPUT", "Second says no.")) },
      { delete: rule("third", refuse("NOT_FOUND", "Third says no.")) },
    );
    expect(policy.delete?.(deleteInput)).toEqual({
      ok: false,
      code: "INVALID_INPUT",
      message: "Second says no.",
    });
    expect(asked).toEqual(["first", "second"]);
  });

  it("extends the built-in rules: the built-in refusal comes first when listed first", () => {
    const stricter: BackupPolicy = {
      restore: ({ serverState }) =>
        serverState === "running"
          ? refuse("SERVER_STATE_CONFLICT", "Stop the server before restoring a backup.")
          : ALLOW,
    };
    const policy = combinePolicies(createPolicy({}), stricter);
    const ok = record("ok");
    expect(policy.restore?.({ ...input([ok]), backup: ok, serverState: "running" })).toMatchObject({
      message: "Stop the server before restoring a backup.",
    });
    expect(policy.restore?.({ ...input([ok]), backup: ok, serverState: "installing" })).toMatchObject({
      message: "This server is not currently in a state that allows for a backup to be restored.",
    });
    expect(policy.restore?.({ ...input([ok]), backup: ok, serverState: "offline" })).toEqual({ ok: true });
  });

  it("replaces a built-in rule by spreading and overriding it", () => {
    // An embedder whose admins may delete locked backups.
    const policy: BackupPolicy = { ...createPolicy({ maxBackups: 1 }), delete: () => ALLOW };
    expect(policy.delete?.(deleteInput)).toEqual({ ok: true });
    expect(policy.create?.(createInput(successful(1)))).toMatchObject({ code: "BACKUP_LIMIT_REACHED" });
  });

  it("merges rotate lists of an allowed create, each uuid once, in order", () => {
    const policy = combinePolicies(
      { create: () => ({ ok: true, rotate: ["x"] }) },
      { create: () => ({ ok: true }) },
      { create: () => ({ ok: true, rotate: ["x", "y"] }) },
    );
    expect(policy.create?.(createInput([]))).toEqual({ ok: true, rotate: ["x", "y"] });
  });

  it("refuses a create when any policy refuses, rotations notwithstanding", () => {
    const policy = combinePolicies(createPolicy({ maxBackups: 1 }), {
      create: ({ scheduled }) => (scheduled ? refuse("THROTTLED", "Scheduled backups are paused.") : ALLOW),
    });
    expect(policy.create?.(createInput(successful(1), { scheduled: true }))).toEqual({
      ok: false,
      code: "THROTTLED",
      message: "Scheduled backups are paused.",
    });
  });

  it("removes in retention what any policy would, each uuid once", () => {
    const policy = combinePolicies({ retention: () => ["a", "b"] }, { retention: () => ["b", "c"] });
    expect(policy.retention?.(input([]))).toEqual(["a", "b", "c"]);
  });

  it("calls a policy's methods on the policy itself", () => {
    class Maintenance implements BackupPolicy {
      readonly message = "Backups are paused for maintenance.";
      create() {
        return refuse("SERVER_STATE_CONFLICT", this.message);
      }
    }
    expect(combinePolicies(new Maintenance()).create?.(createInput([]))).toMatchObject({
      message: "Backups are paused for maintenance.",
    });
  });
});
