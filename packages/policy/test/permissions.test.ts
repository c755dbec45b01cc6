import { describe, expect, it } from "vitest";
import type { Actor, Permission } from "../src/index.js";
import { checkPermission, PERMISSIONS } from "../src/index.js";

const reader: Actor = { id: "r", permissions: [PERMISSIONS.read] };

describe("checkPermission", () => {
  it.each(Object.values(PERMISSIONS))("allows %s to an actor holding it", (permission) => {
    expect(checkPermission({ id: "a", permissions: [permission] }, permission, "act")).toEqual({ ok: true });
  });

  it("allows anything when no actor asks (CLI, scheduler)", () => {
    expect(checkPermission(undefined, PERMISSIONS.delete, "delete a backup")).toEqual({ ok: true });
  });

  it.each<[Permission, string]>([
    [PERMISSIONS.create, "create a backup"],
    [PERMISSIONS.delete, "delete a backup"],
    [PERMISSIONS.restore, "restore a backup"],
    [PERMISSIONS.download, "download a backup"],
  ])("refuses %s to an actor without it", (permission, action) => {
    expect(checkPermission(reader, permission, action)).toEqual({
      ok: false,
      code: "PERMISSION_DENIED",
      message: `You need the ${permission} permission to ${action}.`,
      details: { permission, actor: "r" },
    });
  });

  it("matches permission names exactly, not by prefix", () => {
    const actor: Actor = { id: "x", permissions: ["backup.*", "backup.create.extra"] };
    expect(checkPermission(actor, PERMISSIONS.create, "create a backup").ok).toBe(false);
  });
});
