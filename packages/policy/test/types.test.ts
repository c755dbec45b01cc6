import type * as Core from "@strongbox/core";
import { describe, expect, expectTypeOf, it } from "vitest";
import type * as Policy from "../src/index.js";
import { combinePolicies, createPolicy } from "../src/index.js";

// These checks run in the type-check (`tsc -p tsconfig.check.json`): policy declares its own copies of
// core's types so that it depends on nothing at runtime, and they must not drift apart.
describe("policy types match @strongbox/core's", () => {
  it("declares the same shapes as core", () => {
    expectTypeOf<Policy.ErrorCode>().toEqualTypeOf<Core.ErrorCode>();
    expectTypeOf<Policy.BackupRecord>().toEqualTypeOf<Core.BackupRecord>();
    expectTypeOf<Policy.BackupCopy>().toEqualTypeOf<Core.BackupCopy>();
    expectTypeOf<Policy.BackupVerification>().toEqualTypeOf<Core.BackupVerification>();
    expectTypeOf<Policy.Actor>().toEqualTypeOf<Core.Actor>();
    expectTypeOf<Policy.ServerState>().toEqualTypeOf<Core.ServerState>();
    expectTypeOf<Policy.Decision>().toEqualTypeOf<Core.Decision>();
    expectTypeOf<Policy.CreateDecision>().toEqualTypeOf<Core.CreateDecision>();
    expectTypeOf<Policy.PolicyInput>().toEqualTypeOf<Core.PolicyInput>();
    expectTypeOf<Policy.BackupPolicy>().toEqualTypeOf<Core.BackupPolicy>();
  });

  it("hands the manager a policy it accepts, and combines policies typed by core", () => {
    const fromCore: Core.BackupPolicy = {
      delete: () => ({ ok: false, code: "NOT_FOUND", message: "Gone." }),
    };
    const policy: Core.BackupPolicy = combinePolicies(createPolicy({ maxBackups: 1 }), fromCore);
    expectTypeOf(createPolicy).returns.toExtend<Core.BackupPolicy>();
    expect(Object.keys(policy).sort()).toEqual([
      "create",
      "delete",
      "download",
      "restore",
      "retention",
      "setLocked",
    ]);
  });
});
