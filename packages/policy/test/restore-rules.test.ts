import { describe, expect, it } from "vitest";
import { checkServerState, checkSuccessful } from "../src/index.js";
import { record } from "./records.js";

describe("checkServerState", () => {
  it.each(["running", "offline", "starting", "stopping", "some_embedder_state"])(
    "allows a restore while %s",
    (state) => {
      expect(checkServerState(state)).toEqual({ ok: true });
    },
  );

  it.each(["installing", "suspended", "transferring", "restoring_backup"])(
    "refuses a restore while %s",
    (state) => {
      expect(checkServerState(state)).toEqual({
        ok: false,
        code: "SERVER_STATE_CONFLICT",
        message: "This server is not currently in a state that allows for a backup to be restored.",
        details: { state },
      });
    },
  );
});

describe("checkSuccessful", () => {
  it.each(["restore", "download"] as const)("allows a successful backup to %s", (use) => {
    expect(checkSuccessful(record("a"), use)).toEqual({ ok: true });
  });

  it.each([
    {
      status: "failed" as const,
      use: "restore" as const,
      message: "This backup failed and has nothing to restore; choose a successful backup.",
    },
    {
      status: "failed" as const,
      use: "download" as const,
      message: "This backup failed and has nothing to download; choose a successful backup.",
    },
    {
      status: "in_progress" as const,
      use: "restore" as const,
      message: "This backup is still in progress; wait for it to complete before you restore it.",
    },
    {
      status: "in_progress" as const,
      use: "download" as const,
      message: "This backup is still in progress; wait for it to complete before you download it.",
    },
  ])("refuses to $use a $status backup", ({ status, use, message }) => {
    expect(checkSuccessful(record("a", { status }), use)).toEqual({
      ok: false,
      code: "BACKUP_NOT_SUCCESSFUL",
      message,
      details: { backup: "a", status },
    });
  });

  it("refuses a record marked successful that never completed", () => {
    const odd = { ...record("a", { status: "in_progress" }), is_successful: true };
    expect(checkSuccessful(odd, "restore")).toMatchObject({ code: "BACKUP_NOT_SUCCESSFUL" });
  });
});
