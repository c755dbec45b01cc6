import type { AfterHookContext, OperationHooks } from "@strongbox/core";
import { type HookProcessOptions, runHookProcess } from "./serve-hook-process.js";
import {
  type CommandHookName,
  HOOK_NAMES,
  type HookCommand,
  type HooksConfig,
} from "./serve-hooks-config.js";

/** Options of {@link createCommandHooks}. */
export interface CommandHooksOptions {
  /** The server's folder: where its hooks run, and `{dir}`. */
  serverRoot: (server: string) => string;
  /** The environment hooks start from (default `process.env`); its `STRONGBOX_*` variables are left out. */
  env?: NodeJS.ProcessEnv;
  /** Runs one command (default {@link runHookProcess}). */
  run?: (argv: readonly string[], options: HookProcessOptions) => Promise<void>;
}

/**
 * Turns a hooks file into the manager's {@link OperationHooks}: each hook runs its server's command (its
 * own in `servers`, else the common one) without a shell, in the server's folder. Arguments that are
 * exactly `{server}`, `{backup}`, `{name}` or `{dir}` are replaced by the value (the backup's uuid and
 * name, the server's folder), which is always one whole argument, so a name from a request can never
 * become shell syntax or more arguments. The environment carries the same values (see {@link hookEnv}).
 * A server's hooks run one at a time: the manager stops awaiting a before-hook that timed out or was
 * cancelled at once, but its after-hook (`save-on`) starts only once that process (`save-off`) is gone.
 */
export function createCommandHooks(config: HooksConfig, options: CommandHooksOptions): OperationHooks {
  const run = options.run ?? runHookProcess;
  const base = withoutOwnVariables(options.env ?? process.env);
  const hooks: OperationHooks = config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs };
  const inTurn = oneAtATimePerServer();
  for (const name of HOOK_NAMES) {
    if (!isUsed(config, name)) continue;
    hooks[name] = async (context: AfterHookContext) => {
      const command = commandFor(config, name, context.server);
      if (command === null) return;
      const dir = options.serverRoot(context.server);
      const values = {
        "{server}": context.server,
        "{backup}": context.record.uuid,
        "{name}": context.record.name,
        "{dir}": dir,
      } as Record<string, string>;
      const argv = command.map((arg, index) => (index > 0 ? (values[arg] ?? arg) : arg));
      const env = { ...base, ...hookEnv(name, context, dir) };
      await inTurn(context.server, () => run(argv, { cwd: dir, env, signal: context.signal }));
    };
  }
  return hooks;
}

/**
 * The variables a hook is given: `STRONGBOX_HOOK` (its name), `STRONGBOX_SERVER`, `STRONGBOX_SERVER_DIR`,
 * `STRONGBOX_BACKUP` (uuid), `STRONGBOX_BACKUP_NAME`; after-hooks also `STRONGBOX_OUTCOME`
 * (`success` or `failure`) and, on failure, `STRONGBOX_ERROR`.
 */
export function hookEnv(
  name: CommandHookName,
  context: AfterHookContext,
  dir: string,
): Record<string, string> {
  const after = name === "afterBackup" || name === "afterRestore";
  return {
    STRONGBOX_HOOK: name,
    STRONGBOX_SERVER: context.server,
    STRONGBOX_SERVER_DIR: dir,
    STRONGBOX_BACKUP: context.record.uuid,
    STRONGBOX_BACKUP_NAME: context.record.name,
    ...(after && { STRONGBOX_OUTCOME: context.error ? "failure" : "success" }),
    ...(after && context.error && { STRONGBOX_ERROR: context.error.message }),
  };
}

/** Runs the tasks given for one server one after the other, whether the previous ones failed or not. */
function oneAtATimePerServer() {
  const last = new Map<string, Promise<unknown>>();
  return async (server: string, task: () => Promise<void>): Promise<void> => {
    const previous = last.get(server);
    const current = (async () => {
      await previous?.catch(() => {});
      await task();
    })();
    last.set(server, current);
    try {
      await current;
    } finally {
      if (last.get(server) === current) last.delete(server);
    }
  };
}

function commandFor(config: HooksConfig, name: CommandHookName, server: string): HookCommand | null {
  const own = config.servers[server];
  if (own && name in own) return own[name] ?? null;
  return config.commands[name] ?? null;
}

function isUsed(config: HooksConfig, name: CommandHookName): boolean {
  return [config.commands, ...Object.values(config.servers)].some((commands) => commands[name]);
}

/** serve's own secrets (`STRONGBOX_TOKEN`, ...) and stale values never reach a hook. */
function withoutOwnVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith("STRONGBOX_")));
}
