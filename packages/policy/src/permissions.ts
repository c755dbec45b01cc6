import { ALLOW, refuse } from "./decision.js";
import type { Actor, Decision } from "./types.js";

/** The permissions an actor may hold, as the panel API names them. */
export const PERMISSIONS = {
  create: "backup.create",
  read: "backup.read",
  download: "backup.download",
  restore: "backup.restore",
  delete: "backup.delete",
} as const;

/** One of {@link PERMISSIONS}. */
export type Permission = (typeof PERMISSIONS)[keyof typeof PERMISSIONS];

/**
 * Allows when there is no actor (the system asks: CLI, scheduler) or the actor holds `permission`;
 * otherwise refuses with PERMISSION_DENIED. `action` completes "You need the ... permission to <action>."
 */
export function checkPermission(actor: Actor | undefined, permission: Permission, action: string): Decision {
  if (actor === undefined || actor.permissions.includes(permission)) return ALLOW;
  return refuse("PERMISSION_DENIED", `You need the ${permission} permission to ${action}.`, {
    permission,
    actor: actor.id,
  });
}
