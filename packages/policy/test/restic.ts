// The real restic (0.14, installed by scripts/setup-tools.sh) as the reference for the keep rules: a tiny
// repository whose snapshots carry chosen times, and what `restic forget --dry-run` keeps of them.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { BackupRecord } from "../src/index.js";

const execFileAsync = promisify(execFile);

/** A restic repository holding one snapshot per given instant. */
export interface ResticRepository {
  /** One successful record per snapshot, uuid = snapshot id, `created_at` = snapshot time. */
  records: BackupRecord[];
  /**
   * What `restic forget --dry-run` keeps with each set of flags, run in `timeZone`: snapshot id -> reasons.
   * The dry runs take no lock, so they run a few at once.
   */
  forget(timeZone: string, flagSets: readonly string[][]): Promise<Map<string, string[]>[]>;
  remove(): Promise<void>;
}

interface ForgetGroup {
  keep: { id: string; time: string }[] | null;
  reasons: { snapshot: { time: string }; matches: string[] }[] | null;
}

/**
 * Makes a repository with a snapshot at each instant (epoch ms, whole seconds). Each backup runs with a
 * fixed-offset `TZ` equal to `timeZone`'s offset at that instant, so the snapshot keeps the exact instant
 * (even in the hour a DST change repeats) and the offset restic reads back in `timeZone`.
 */
export async function resticRepository(
  timeZone: string,
  instants: readonly number[],
): Promise<ResticRepository> {
  const dir = await mkdtemp(join(tmpdir(), "strongbox-restic-"));
  const repo = join(dir, "repo");
  const source = join(dir, "source");
  await mkdir(source);
  await writeFile(join(source, "level.dat"), "level-1");
  const restic = (tz: string, args: string[]) =>
    execFileAsync("restic", ["--repo", repo, "--no-cache", ...args], {
      env: { PATH: process.env.PATH, RESTIC_PASSWORD: "strongbox", TZ: tz },
      maxBuffer: 64 * 1024 * 1024,
    });
  await restic("UTC", ["init"]);
  // Backups take restic's shared lock, so a few run at once.
  await inPool(instants, async (instant) => {
    const { wall, zone } = fixedOffsetWallClock(timeZone, instant);
    await restic(zone, ["backup", "--quiet", "--host", "h", "--time", wall, source]);
  });
  const snapshots = JSON.parse((await restic(timeZone, ["snapshots", "--json"])).stdout) as {
    id: string;
    time: string;
  }[];
  return {
    records: snapshots.map((snapshot) => resticRecord(snapshot.id, Date.parse(snapshot.time))),
    forget: (tz, flagSets) =>
      inPool(flagSets, async (flags) => {
        const { stdout } = await restic(tz, ["--no-lock", "forget", "--dry-run", "--json", ...flags]);
        const groups = JSON.parse(stdout) as ForgetGroup[];
        const byTime = new Map(snapshots.map((snapshot) => [Date.parse(snapshot.time), snapshot.id]));
        const kept = new Map<string, string[]>();
        for (const group of groups) {
          for (const reason of group.reasons ?? []) {
            kept.set(byTime.get(Date.parse(reason.snapshot.time))!, reason.matches);
          }
        }
        return kept;
      }),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `work` over `items`, four at a time (restic mostly waits on its key derivation), results in order. */
async function inPool<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index]!);
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return results;
}

/** A successful record created at `ms`, in the panel's timestamp form. */
export function resticRecord(uuid: string, ms: number): BackupRecord {
  const created = new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+00:00");
  return {
    uuid,
    server: "srv",
    name: uuid,
    ignored_files: [],
    checksum: "sha256:00",
    bytes: 100,
    is_successful: true,
    is_locked: false,
    created_at: created,
    completed_at: created,
    disk: "local",
  };
}

/** `instant` as `YYYY-MM-DD HH:MM:SS` in `timeZone`, with an `Etc/GMT±h` zone of the same offset then. */
function fixedOffsetWallClock(timeZone: string, instant: number): { wall: string; zone: string } {
  const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
    .formatToParts(instant)
    .find((part) => part.type === "timeZoneName")!.value;
  const match = /^GMT(?:([+-])(\d\d):00)?$/.exec(name);
  if (match === null) throw new Error(`${timeZone} has an offset that is not whole hours: ${name}`);
  const hours = match[1] === undefined ? 0 : Number(`${match[1]}${match[2]}`);
  const wall = new Date(instant + hours * 3_600_000).toISOString().slice(0, 19).replace("T", " ");
  // POSIX signs are inverted: Etc/GMT+5 is five hours behind UTC.
  const zone = hours === 0 ? "UTC" : `Etc/GMT${hours > 0 ? "-" : "+"}${Math.abs(hours)}`;
  return { wall, zone };
}
