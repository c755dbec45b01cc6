import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { backUp, expectOneErrorLine, storedFiles } from "./helpers/backup-cli.js";
import { memoryStream, sha256sum, tarList, writeTree } from "./helpers/fixtures.js";
import { makeTempDir, runCli } from "./helpers/run-cli.js";

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let storage: string;

beforeEach(async () => {
  temp = await makeTempDir();
  storage = join(temp.path, "storage");
  await writeTree(join(temp.path, "srv"), {
    "server.properties": "motd=hi",
    "world/level.dat": "level",
    "logs/latest.log": "log",
    "empty/": null,
  });
});

afterEach(() => temp.remove());

describe("strongbox backup", () => {
  it("stores the folder in a file:// storage and prints the backup as the API's object", async () => {
    const run = await runCli(
      [
        "backup",
        "srv",
        "--storage",
        pathToFileURL(storage).href,
        "--server",
        "srv-1",
        "--name",
        "Pre-update",
        "--json",
      ],
      { cwd: temp.path },
    );

    expect(run).toMatchObject({ code: 0, stderr: "" });
    const document = JSON.parse(run.stdout);
    expect(document.object).toBe("backup");
    expect(Object.keys(document.attributes).sort()).toEqual(
      [
        "uuid",
        "name",
        "ignored_files",
        "checksum",
        "bytes",
        "is_successful",
        "is_locked",
        "created_at",
        "completed_at",
      ].sort(),
    );
    const { uuid, checksum, bytes } = document.attributes;
    expect(document.attributes).toMatchObject({ name: "Pre-update", is_successful: true, is_locked: false });
    const archive = join(storage, "srv-1", `${uuid}.tar.gz`);
    expect(await sha256sum(archive)).toBe(checksum);
    expect((await readFile(archive)).byteLength).toBe(bytes);
    expect(await storedFiles(storage, "srv-1")).toEqual([`${uuid}.json`, `${uuid}.tar.gz`].sort());
    expect(await tarList(archive)).toEqual(
      ["empty/", "logs/", "logs/latest.log", "server.properties", "world/", "world/level.dat"].sort(),
    );
  });

  it("takes a plain folder path, ignore rules and --lock, and prints one summary line", async () => {
    const run = await runCli(
      ["backup", "srv", "--storage", "storage", "--server", "srv-1", "--ignore", "logs/", "--lock"],
      { cwd: temp.path },
    );

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(
      /^Backup [0-9a-f-]{36} "Backup at [^"]+": successful, .*sha256:[0-9a-f]{64}, locked\.\n$/,
    );
    const uuid = /^Backup ([0-9a-f-]{36})/.exec(run.stdout)?.[1];
    const record = JSON.parse(await readFile(join(storage, "srv-1", `${uuid}.json`), "utf8"));
    expect(record).toMatchObject({ is_locked: true, ignored_files: ["logs/"], is_successful: true });
    expect(await tarList(join(storage, "srv-1", `${uuid}.tar.gz`))).not.toContain("logs/latest.log");
  });

  it("accepts a rate limit and refuses one it cannot read, as a usage error", async () => {
    const limited = await backUp("srv", storage, "srv-1", ["--rate-limit", "50M"], { cwd: temp.path });
    expect(limited.is_successful).toBe(true);

    const run = await runCli(
      ["backup", "srv", "--storage", storage, "--server", "srv-1", "--rate-limit", "fast"],
      {
        cwd: temp.path,
      },
    );
    expectOneErrorLine(run, /--rate-limit "fast" is not a rate/, 2);
  });

  it.each([
    ["a missing --storage", ["backup", "srv", "--server", "srv-1"], /missing --storage <URL>/, 2],
    ["a missing --server", ["backup", "srv", "--storage", "storage"], /missing --server <ID>/, 2],
    [
      "a bad server id",
      ["backup", "srv", "--storage", "storage", "--server", "../x"],
      /server id must be/,
      1,
    ],
    [
      "a missing folder",
      ["backup", "nope", "--storage", "storage", "--server", "srv-1"],
      /nope" does not exist/,
      1,
    ],
  ])("refuses %s with one line, storing nothing", async (_name, args, pattern, code) => {
    const run = await runCli(args, { cwd: temp.path });

    expectOneErrorLine(run, pattern, code);
    expect(run.stdout).toBe("");
    expect(await storedFiles(storage, "srv-1")).toEqual([]);
  });

  it("refuses a storage it cannot write to with one line", async () => {
    // A file where the server's folder should be: not even the record can be stored.
    await writeTree(storage, { "srv-1": "not a folder" });

    const run = await runCli(["backup", "srv", "--storage", storage, "--server", "srv-1"], {
      cwd: temp.path,
    });

    expectOneErrorLine(run, /^strongbox: /);
    expect(run.stdout).toBe("");
  });
});

describe("strongbox backup, cancelled (in process)", () => {
  it("fails the record, leaves no archive and exits 130 when its signal fires mid-way", async () => {
    // Incompressible data, so the backup is still running when the first progress is drawn.
    await writeFile(join(temp.path, "srv", "big-1.bin"), randomBytes(6 * 1024 * 1024));
    await writeFile(join(temp.path, "srv", "big-2.bin"), randomBytes(6 * 1024 * 1024));
    const controller = new AbortController();
    const stdout = memoryStream();
    let errors = "";
    // A terminal, so the bar is drawn once the backup runs: that is the moment to press Ctrl-C.
    const stderr = Object.assign(
      new Writable({
        write(chunk: Buffer | string, _encoding, callback) {
          errors += chunk.toString();
          if (errors.includes("backing up")) controller.abort();
          callback();
        },
      }),
      { isTTY: true, columns: 80 },
    );

    const code = await main(["backup", "srv", "--storage", storage, "--server", "srv-1"], {
      cwd: temp.path,
      stdout: stdout.stream,
      stderr,
      signal: controller.signal,
    });

    expect(code).toBe(130);
    expect(stdout.text()).toBe("");
    expect(errors).toMatch(/strongbox: The backup was cancelled\.\n$/);
    const files = await storedFiles(storage, "srv-1");
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.json$/);
    const record = JSON.parse(await readFile(join(storage, "srv-1", files[0]!), "utf8"));
    expect(record).toMatchObject({ is_successful: false, error: "cancelled", checksum: null });
    expect(record.completed_at).not.toBeNull();
  });
});
