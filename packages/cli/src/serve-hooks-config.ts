import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { isStrongboxError, validateServerId } from "@strongbox/core";
import { UsageError } from "./command.js";

/** The hooks `serve --hooks FILE` can run, as named in the file. */
export const HOOK_NAMES = ["beforeBackup", "afterBackup", "beforeRestore", "afterRestore"] as const;

/** One of {@link HOOK_NAMES}. */
export type CommandHookName = (typeof HOOK_NAMES)[number];

/** The words an argument may be replaced by, each only as a whole argument. */
export const PLACEHOLDERS = ["{server}", "{backup}", "{name}", "{dir}"] as const;

/** A hook's command line: the program, then its arguments (some of them {@link PLACEHOLDERS}). */
export type HookCommand = readonly [string, ...string[]];

/** The commands of some hooks; `null` switches a hook off (for one server, in `servers`). */
export type HookCommands = Partial<Record<CommandHookName, HookCommand | null>>;

/** A checked hooks file. */
export interface HooksConfig {
  /** The commands every server runs. */
  commands: HookCommands;
  /** Per server id, the hooks that replace (or, with `null`, switch off) the common ones. */
  servers: Readonly<Record<string, HookCommands>>;
  /** Most milliseconds one hook may run; `undefined` keeps the manager's default (60 s). */
  timeoutMs: number | undefined;
}

/**
 * Reads and checks the hooks file of `serve --hooks`. Programs given by a relative path with a `/`
 * (`./bin/save-off`) are resolved against the file's folder, never against a server folder (which a
 * server's users may write to); bare names are looked up in `PATH`.
 * @throws UsageError naming the file and the problem, on one line.
 */
export async function readHooksFile(path: string): Promise<HooksConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(
      `serve: the --hooks file "${path}" cannot be read (${(error as NodeJS.ErrnoException).code}).`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`serve: the --hooks file "${path}" is not valid JSON: ${(error as Error).message}.`);
  }
  return parseHooksConfig(value, { file: path, programsFrom: dirname(path) });
}

/** Where a hooks config came from: its file (named in errors) and the folder relative programs are in. */
export interface HooksSource {
  file: string;
  programsFrom: string;
}

/**
 * Checks a parsed hooks file: `{beforeBackup?, afterBackup?, beforeRestore?, afterRestore?,
 * timeoutSeconds?, servers?: {<id>: {<hook>: command | null}}}`, each command a non-empty array of
 * strings, the program first. Unknown keys are refused, so a misspelt hook never silently does nothing.
 * @throws UsageError naming the file and the problem.
 */
export function parseHooksConfig(value: unknown, source: HooksSource): HooksConfig {
  const fail = (problem: string): never => {
    throw new UsageError(`serve: the --hooks file "${source.file}" ${problem}.`);
  };
  const top = expectObject(value, "", fail);
  for (const key of Object.keys(top)) {
    if (key !== "servers" && key !== "timeoutSeconds" && !isHookName(key))
      fail(`has an unknown key "${key}" (known: ${HOOK_NAMES.join(", ")}, timeoutSeconds, servers)`);
  }
  const servers: Record<string, HookCommands> = {};
  for (const [id, entry] of Object.entries(expectObject(top.servers ?? {}, "servers", fail))) {
    if (!isServerId(id)) fail(`names a server "${id}" that is not a server id (letters, digits, - and _)`);
    servers[id] = parseCommands(expectObject(entry, `servers.${id}`, fail), `servers.${id}.`, source, fail);
  }
  return {
    commands: parseCommands(top, "", source, fail),
    servers,
    timeoutMs: parseTimeout(top.timeoutSeconds, fail),
  };
}

function parseCommands(
  entry: Record<string, unknown>,
  prefix: string,
  source: HooksSource,
  fail: (problem: string) => never,
): HookCommands {
  const commands: HookCommands = {};
  for (const [key, command] of Object.entries(entry)) {
    if (prefix === "" && (key === "servers" || key === "timeoutSeconds")) continue;
    if (!isHookName(key)) fail(`has an unknown key "${prefix}${key}" (known: ${HOOK_NAMES.join(", ")})`);
    commands[key] = command === null ? null : parseCommand(command, `${prefix}${key}`, source, fail);
  }
  return commands;
}

function parseCommand(
  command: unknown,
  where: string,
  source: HooksSource,
  fail: (problem: string) => never,
): HookCommand {
  if (!Array.isArray(command) || command.length === 0 || !command.every((arg) => typeof arg === "string"))
    fail(`gives ${where} as no command; write it as ["program", "argument", ...] (or null for none)`);
  const [program, ...args] = command as string[];
  if (program === "" || isPlaceholder(program!))
    fail(`gives ${where} no program to run before its arguments`);
  for (const arg of args) {
    const word = /\{[A-Za-z_]+\}/.exec(arg)?.[0];
    if (word !== undefined && (word !== arg || !isPlaceholder(arg))) {
      fail(
        `has "${arg}" in ${where}: placeholders (${PLACEHOLDERS.join(", ")}) must be whole arguments; ` +
          "the same values are in the STRONGBOX_* environment variables",
      );
    }
  }
  const resolved =
    program!.includes("/") && !isAbsolute(program!) ? resolve(source.programsFrom, program!) : program!;
  return [resolved, ...args];
}

function parseTimeout(seconds: unknown, fail: (problem: string) => never): number | undefined {
  if (seconds === undefined) return undefined;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0)
    fail(`gives timeoutSeconds as ${describe(seconds)}; give a number of seconds above 0`);
  return Math.round((seconds as number) * 1000);
}

function expectObject(
  value: unknown,
  where: string,
  fail: (problem: string) => never,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail(`must hold a JSON object${where === "" ? "" : ` at ${where}`}, not ${describe(value)}`);
  return value as Record<string, unknown>;
}

function isHookName(key: string): key is CommandHookName {
  return (HOOK_NAMES as readonly string[]).includes(key);
}

function isPlaceholder(arg: string): boolean {
  return (PLACEHOLDERS as readonly string[]).includes(arg);
}

function isServerId(id: string): boolean {
  try {
    validateServerId(id);
    return true;
  } catch (error) {
    if (isStrongboxError(error, "INVALID_INPUT")) return false;
    throw error;
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  return value === null ? "null" : `a ${typeof value}`;
}
