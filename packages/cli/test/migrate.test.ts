import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BackupRecord } from "@strongbox/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeS3, startFakeS3 } from "../../storage-s3/test/helpers/s3rver.js";
import { expectOneErrorLine, runJson, S3_ENV, s3Url, seedBackup } from "./helpers/backup-cli.js";
import { sha256sum, writeTree } from "./helpers/fixtures.js";
import { makeTempDir, runCli, spawnCli } from "./helpers/run-cli.js";

interface Summary {
  copied: number;
  skipped: number;
  failed: { server: string; uuid: string; error: string }[];
}

let s3: FakeS3;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let source: string;

beforeAll(async () => {
  s3 = await startFakeS3();
});

afterAll(() => s3.stop());

beforeEach(async () => {
  temp = await makeTempDir();
  source = join(temp.path, "source");
});

afterEach(() => temp.remove());

/** Backs up a small tree `count` times for `server` into the source storage. */
async function seed(server: string, count: number, bytes = 64): Promise<BackupRecord[]> {
  const records: BackupRecord[] = [];
  for (let index = 0; index < count; index++) {
    const root = join(temp.path, `${server}-${index}`);
    await writeTree(root, { "a.txt": `backup ${index}` });
    await writeFile(join(root, "data.bin"), randomBytes(bytes));
    records.push(await seedBackup(source, server, root, { name: `${server} #${index}` }));
  }
  return records;
}

/** `strongbox migrate --json` from the source storage to `target`, with `flags`. */
function migrateTo(target: string, ...flags: string[]): Promise<Summary> {
  return runJson<Summary>(["migrate", "--from", source, "--to", target, ...flags]);
}

/** uuid -> checksum of every backup of `server` in a storage, through `strongbox list`. */
async function checksums(storage: string, server: string): Promise<Record<string, string | null>> {
  const list = await runJson<{ data: { attributes: { uuid: string; checksum: string | null } }[] }>(
    ["list", "--storage", storage, "--server", server, "--per-page", "50"],
    { env: S3_ENV },
  );
  return Object.fromEntries(list.data.map(({ attributes }) => [attributes.uuid, attributes.checksum]));
}

describe("strongbox migrate", () => {
  it("copies local -> S3 -> local with equal checksums, and a second run copies nothing", async () => {
    const first = await seed("srv-1", 2);
    const second = await seed("srv-2", 1);
    // A failed backup is not copied.
    const failed = {
      ...first[0]!,
      uuid: "3e8e8f18-25fa-4f9e-a13d-4d1c8e8b8f9e",
      is_successful: false,
      checksum: null,
    };
    await writeFile(join(source, "srv-1", `${failed.uuid}.json`), JSON.stringify(failed));
    const bucket = s3Url(s3, "round-trip");
    const back = join(temp.path, "back");

    const up = await runCli(["migrate", "--from", source, "--to", bucket], { env: S3_ENV });
    expect(up).toMatchObject({ code: 0, stderr: "" });
    const lines = up.stdout.trimEnd().split("\n");
    expect(lines.slice(0, -1).sort()).toEqual(
      [
        ...[...first, ...second].map((record) => `copied ${record.server}/${record.uuid}`),
        `skipped srv-1/${failed.uuid} (a failed backup)`,
      ].sort(),
    );
    expect(lines.at(-1)).toBe("copied 3, skipped 1, failed 0");

    const down = await runJson<Summary>(["migrate", "--from", bucket, "--to", back], { env: S3_ENV });
    // The failed backup never reached S3.
    expect(down).toEqual({ copied: 3, skipped: 0, failed: [] });

    for (const server of ["srv-1", "srv-2"]) {
      const original = await checksums(source, server);
      expect(await checksums(back, server)).toEqual(
        Object.fromEntries(Object.entries(original).filter(([, checksum]) => checksum !== null)),
      );
    }
    for (const record of [...first, ...second]) {
      expect(await sha256sum(join(back, record.server, `${record.uuid}.tar.gz`))).toBe(record.checksum);
    }

    const again = await runJson<Summary>(["migrate", "--from", bucket, "--to", back], { env: S3_ENV });
    expect(again).toEqual({ copied: 0, skipped: 3, failed: [] });
  });

  it("copies only one server's backups with --server", async () => {
    await seed("srv-1", 1);
    const [only] = await seed("srv-2", 1);
    const target = join(temp.path, "target");

    const summary = await migrateTo(target, "--server", "srv-2");

    expect(summary).toEqual({ copied: 1, skipped: 0, failed: [] });
    expect(Object.keys(await checksums(target, "srv-2"))).toEqual([only!.uuid]);
    expect(await checksums(target, "srv-1")).toEqual({});
  });

  it("copies one backup at a time with --concurrency 1, and refuses a concurrency of 0", async () => {
    await seed("srv-1", 3);
    const target = join(temp.path, "target");

    const summary = await migrateTo(target, "--concurrency", "1");
    expect(summary).toEqual({ copied: 3, skipped: 0, failed: [] });
    expect(await checksums(target, "srv-1")).toEqual(await checksums(source, "srv-1"));

    const refused = await runCli(["migrate", "--from", source, "--to", target, "--concurrency", "0"]);
    expectOneErrorLine(refused, /--concurrency must be a whole number of at least 1, not "0"/, 2);
  });

  it("reports a damaged archive as failed, copies the rest, and exits 1 with one line", async () => {
    const [damaged, intact] = await seed("srv-1", 2);
    const archive = join(source, "srv-1", `${damaged!.uuid}.tar.gz`);
    await writeFile(archive, Buffer.alloc((await readFile(archive)).byteLength, 7));
    const target = join(temp.path, "target");

    const run = await runCli(["migrate", "--from", source, "--to", target]);

    expectOneErrorLine(run, /^strongbox: 1 backup could not be copied \(see above\)/);
    expect(run.stdout).toContain(`copied srv-1/${intact!.uuid}\n`);
    expect(run.stdout).toMatch(
      new RegExp(`failed srv-1/${damaged!.uuid}: The copy of backup .* does not match its record`),
    );
    expect(run.stdout).toMatch(/copied 1, skipped 0, failed 1\n$/);
    expect(Object.keys(await checksums(target, "srv-1"))).toEqual([intact!.uuid]);
  });

  it("goes on where a killed run stopped", async () => {
    const records = await seed("srv-1", 6, 512 * 1024);
    const bucket = s3Url(s3, "killed");
    const args = ["migrate", "--from", source, "--to", bucket];

    const child = spawnCli(args, { env: S3_ENV });
    const exited = once(child, "exit");
    let seen = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      seen += chunk;
      if (/^copied /m.test(seen)) child.kill("SIGKILL");
    });
    const [, signal] = await exited;
    expect(signal).toBe("SIGKILL");

    const resumed = await runJson<Summary>(args, { env: S3_ENV });
    expect(resumed.failed).toEqual([]);
    expect(resumed.copied + resumed.skipped).toBe(records.length);
    expect(resumed.skipped).toBeGreaterThanOrEqual(1);
    expect(await checksums(bucket, "srv-1")).toEqual(
      Object.fromEntries(records.map((record) => [record.uuid, record.checksum])),
    );
    const verified = await runCli(["verify", records[0]!.uuid, "--storage", bucket, "--server", "srv-1"], {
      env: S3_ENV,
    });
    expect(verified.code).toBe(0);
  });

  it.each([
    ["no --from", ["migrate", "--to", "x"], /migrate: missing --from <URL>/, 2],
    ["no --to", ["migrate", "--from", "x"], /migrate: missing --to <URL>/, 2],
    ["a bad server id", ["migrate", "--from", ".", "--to", "x", "--server", "a/b"], /server id must be/, 1],
    [
      "a missing source folder",
      ["migrate", "--from", "nowhere", "--to", "x"],
      /"[^"]*nowhere" does not exist/,
      1,
    ],
  ])("refuses %s with one line", async (_name, args, pattern, code) => {
    const run = await runCli(args, { cwd: temp.path });

    expectOneErrorLine(run, pattern, code);
  });
});
