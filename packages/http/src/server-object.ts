import type { BackupManager } from "@strongbox/core";
import type { ServerDirectory } from "./routes.js";

/** The panel's `status` values other than `null` (the server is there, whatever it runs). */
const PANEL_STATUSES = new Set([
  "installing",
  "install_failed",
  "suspended",
  "transferring",
  "restoring_backup",
]);

/**
 * `{object: "server", attributes: {identifier, feature_limits: {backups}, status}}`: what a client reads
 * to learn the limit and, by polling `status`, when a restore has ended.
 */
export async function serverObject(server: string, manager: BackupManager, servers: ServerDirectory) {
  const [backups, status] = await Promise.all([
    servers.backupLimit(server),
    serverStatus(server, manager, servers),
  ]);
  return { object: "server", attributes: { identifier: server, feature_limits: { backups }, status } };
}

/** A restore running here first, else the embedder's state when the panel has a name for it, else `null`. */
async function serverStatus(
  server: string,
  manager: BackupManager,
  servers: ServerDirectory,
): Promise<string | null> {
  const running = manager.activeOperation(server)?.serverState;
  if (running !== undefined) return running;
  const state = await servers.state?.(server);
  return state !== undefined && PANEL_STATUSES.has(state) ? state : null;
}
