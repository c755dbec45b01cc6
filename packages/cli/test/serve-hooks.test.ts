import { once } from "node:events";
import { watch } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AfterHookContext, BackupRecord } from "@strongbox/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UsageError } from "../src/command.js";
import { runHookProcess, STDERR_TAIL_BYTES } from "../src/serve-hook-process.js";
import { createCommandHooks } from "../src/serve-hooks.js";
import { type HooksConfig, parseHooksConfig, readHooksFile } from "../src/serve-hooks-config.js";
import { makeTempDir } from "./helpers/run-cli.js";

let temp: Awaited<ReturnType<typeof makeTempDir>>;
beforeEach(async () => {
  temp = await makeTempDir();
});
afterEach(() => temp.remove());

const SOURCE = { file: "/etc/strongbox/hooks.json", programsFrom: "/etc/strongbox" };
const parse = (value: unknown) => parseHooksConfig(value, SOURCE);

/** The file's text once `done(text)` holds (it is watched, not polled). */
async function fileUntil(path: string, done: (text: string) => boolean): Promise<string> {
  const watcher = watch(path);
  try {
    for (;;) {
      const text = await readFile(path, "utf8");
      if (done(text)) return text;
      await once(watcher, "change");
    }
  } finally {
    watcher.close();
  }
}

describe("the hooks file", () => {
  it("reads commands, per-server overrides and the timeout; relative programs are the file's, not a server's", () => {
    const config = parse({
      beforeBackup: ["mc-save-off", "{server}"],
      afterBackup: ["./bin/save-on", "--server", "{server}", "{name}"],
      timeoutSeconds: 1.5,
      servers: { "srv-2": { beforeBackup: null, afterRestore: ["/usr/bin/true", "{dir}", "{backup}"] } },
    });
    expect(config).toEqual({
      commands: {
        beforeBackup: ["mc-save-off", "{server}"],
        afterBackup: ["/etc/strongbox/bin/save-on", "--server", "{server}", "{name}"],
      },
      servers: { "srv-2": { beforeBackup: null, afterRestore: ["/usr/bin/true", "{dir}", "{backup}"] } },
      timeoutMs: 1500,
    });
  });

  it.each([
    ["a list", [], /must hold a JSON object, not an array/],
    ["a misspelt hook", { beforebackup: ["x"] }, /unknown key "beforebackup"/],
    ["a command line as a string", { beforeBackup: "save-off && save-all" }, /beforeBackup as no command/],
    ["an empty command", { afterBackup: [] }, /afterBackup as no command/],
    ["a non-string argument", { afterBackup: ["x", 1] }, /afterBackup as no command/],
    ["a placeholder as the program", { beforeBackup: ["{dir}"] }, /no program to run/],
    ["a placeholder inside an argument", { beforeBackup: ["x", "--name={name}"] }, /whole arguments/],
    ["an unknown placeholder", { beforeBackup: ["x", "{uuid}"] }, /"\{uuid\}" in beforeBackup/],
    ["a bad timeout", { timeoutSeconds: 0 }, /timeoutSeconds as a number; give a number of seconds above 0/],
    ["a bad server id", { servers: { "../x": {} } }, /server "..\/x" that is not a server id/],
    [
      "a server's timeout",
      { servers: { a: { timeoutSeconds: 5 } } },
      /unknown key "servers.a.timeoutSeconds"/,
    ],
  ])("refuses %s with one line naming the file", (_what, value, message) => {
    let error: unknown;
    try {
      parse(value);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^serve: the --hooks file "\/etc\/strongbox\/hooks.json" /);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });

  it("says so when the file is missing or not JSON", async () => {
    const path = join(temp.path, "hooks.json");
    await expect(readHooksFile(path)).rejects.toThrow(/cannot be read \(ENOENT\)/);
    await writeFile(path, "{ beforeBackup: [] }");
    await expect(readHooksFile(path)).rejects.toThrow(/is not valid JSON/);
  });
});

describe("a hook's process", () => {
  const signal = () => new AbortController().signal;

  it("fails with the exit code and the last KiB of stderr, on one line", async () => {
    const script =
      'process.stderr.write("start\\n" + "x".repeat(3000) + "\\nworld is locked\\n"); process.exit(3)';
    const failure = runHookProcess([process.execPath, "-e", script], {
      cwd: temp.path,
      env: process.env,
      signal: signal(),
    });
    const error: Error = await failure.catch((caught) => caught);
    expect(error.message).toMatch(/^".*node" exited with code 3: x+ world is locked$/);
    expect(error.message).not.toContain("start");
    expect(error.message.length).toBeLessThan(STDERR_TAIL_BYTES + process.execPath.length + 30);
  });

  it("says when the program cannot be started", async () => {
    const missing = join(temp.path, "no-such-program");
    const run = runHookProcess([missing], { cwd: temp.path, env: process.env, signal: signal() });
    await expect(run).rejects.toThrow(`"${missing}" could not be started (ENOENT).`);
  });

  it("stops a program that ignores SIGTERM with SIGKILL once its signal fires", async () => {
    const ready = join(temp.path, "ready");
    await writeFile(ready, "");
    const script = `process.on("SIGTERM", () => {}); require("fs").writeFileSync(${JSON.stringify(ready)}, String(process.pid)); setInterval(() => {}, 1000);`;
    const controller = new AbortController();
    const run = runHookProcess([process.execPath, "-e", script], {
      cwd: temp.path,
      env: process.env,
      signal: controller.signal,
      killGraceMs: 50,
    });
    const pid = Number(await fileUntil(ready, (text) => text !== ""));
    controller.abort();
    await expect(run).rejects.toMatchObject({ code: "ABORTED" });
    // It was reaped before the promise settled: the pid is gone.
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });
});

describe("hooks made of commands", () => {
  const record = { uuid: "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e", name: "a b; $(id)" } as BackupRecord;
  const config: HooksConfig = {
    commands: {
      beforeBackup: ["save-off", "{server}", "{name}", "{dir}", "{backup}", "{ignored}"],
      afterRestore: ["after", "{server}"],
    },
    servers: { quiet: { beforeBackup: null }, own: { beforeBackup: ["own-save", "{name}"] } },
    timeoutMs: 2000,
  };

  function hooksRecording() {
    const runs: { argv: readonly string[]; cwd: string; env: NodeJS.ProcessEnv }[] = [];
    const hooks = createCommandHooks(config, {
      serverRoot: (server) => `/srv/${server}`,
      env: { PATH: "/usr/bin", STRONGBOX_TOKEN: "secret", STRONGBOX_ERROR: "stale" },
      run: async (argv, { cwd, env }) => {
        runs.push({ argv, cwd, env });
      },
    });
    return { hooks, runs };
  }

  it("replaces whole-argument placeholders, runs in the server folder, and passes the values as variables", async () => {
    const { hooks, runs } = hooksRecording();
    expect(Object.keys(hooks).sort()).toEqual(["afterRestore", "beforeBackup", "timeoutMs"]);
    await hooks.beforeBackup!({ server: "srv-1", record, signal: new AbortController().signal });
    expect(runs).toEqual([
      {
        argv: ["save-off", "srv-1", "a b; $(id)", "/srv/srv-1", record.uuid, "{ignored}"],
        cwd: "/srv/srv-1",
        env: {
          PATH: "/usr/bin",
          STRONGBOX_HOOK: "beforeBackup",
          STRONGBOX_SERVER: "srv-1",
          STRONGBOX_SERVER_DIR: "/srv/srv-1",
          STRONGBOX_BACKUP: record.uuid,
          STRONGBOX_BACKUP_NAME: "a b; $(id)",
        },
      },
    ]);
  });

  it("tells after-hooks the outcome and error, and follows per-server overrides", async () => {
    const { hooks, runs } = hooksRecording();
    const after: AfterHookContext = {
      server: "srv-1",
      record,
      signal: new AbortController().signal,
      error: new Error("The archive is damaged."),
    };
    await hooks.afterRestore!(after);
    expect(runs[0]!.env).toMatchObject({
      STRONGBOX_OUTCOME: "failure",
      STRONGBOX_ERROR: "The archive is damaged.",
    });
    await hooks.afterRestore!({ ...after, error: undefined });
    expect(runs[1]!.env.STRONGBOX_OUTCOME).toBe("success");
    expect(runs[1]!.env).not.toHaveProperty("STRONGBOX_ERROR");

    await hooks.beforeBackup!({ server: "quiet", record, signal: after.signal });
    await hooks.beforeBackup!({ server: "own", record, signal: after.signal });
    expect(runs.slice(2).map((run) => run.argv)).toEqual([["own-save", "a b; $(id)"]]);
  });

  it("starts a server's after-hook only once its before-hook's process is gone, even when no longer awaited", async () => {
    const started: string[] = [];
    let endBefore!: () => void;
    const hooks = createCommandHooks(config, {
      serverRoot: (server) => `/srv/${server}`,
      run: async (argv) => {
        started.push(argv[0]!);
        if (argv[0] === "save-off") await new Promise<void>((resolve) => (endBefore = resolve));
      },
    });
    const signal = new AbortController().signal;
    const before = hooks.beforeBackup!({ server: "srv-1", record, signal });
    const after = hooks.afterRestore!({ server: "srv-1", record, signal });
    await hooks.afterRestore!({ server: "srv-2", record, signal });
    expect(started).toEqual(["save-off", "after"]);
    endBefore();
    await Promise.all([before, after]);
    expect(started).toEqual(["save-off", "after", "after"]);
  });
});
