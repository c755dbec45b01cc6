/**
 * The repository benchmark: @strongbox/repository against restic and borg, side by side in one run, each
 * at its default compression with its own repository in a temp folder on local disk, none encrypted
 * (restic 0.14 cannot do without a password: its rows have one; Strongbox has a row with one too). Every
 * operation is its own process, timed with GNU time like run.ts's rows (Strongbox's through
 * runners/strongbox-repo.mjs). What it measures:
 *
 * 1. the first backup of a game-server tree;
 * 2. a re-backup with nothing changed, of game-server and of many-small, next to a stat-only `find` walk;
 * 3. `--days` days of churn (churn.ts) backed up one by one: a day's median time and the bytes stored after
 *    them, next to today's approach (a full level-1 `.tar.gz` a day with core's `packToFile`);
 * 4. a fleet (fleet.ts: 10 servers of one modpack) backed up into one repository: stored / (template + worlds);
 * 5. a full restore of the last snapshot and a single-file restore;
 * 6. the peak RSS of a Strongbox backup of many-small with 10 earlier snapshots in the repository.
 *
 *   pnpm build && cd benchmarks && npx tsx --conditions=source src/repository-bench.ts --scale 0.25 \
 *     --data /tmp/bd [--days 10] [--runs 1] [--parts game-server,many-small,fleet] [--fleet-servers 10]
 *     [--no-password] [--out FILE]
 *
 * Prints a markdown table (also written to --out, default results/repository-<date>.md, with a .json
 * beside it) and PASS/FAIL against the targets. Measures only: a failed target does not fail the run.
 * restic and borg rows are left out (and the targets against them) when the tool is not installed.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { backup, initRepository, listSnapshotIds, openRepository } from "@strongbox/repository";
import { createLocalStorage } from "@strongbox/storage-local";
import { applyChurnDay } from "./churn.js";
import { ensureFleet, FLEET_SERVERS, type FleetInfo } from "./fleet.js";
import { ensureTree, type TreeInfo } from "./generate.js";
import { have, type Measured, measure, q, sampleOf } from "./measure.js";
import { median, type Sample } from "./report.js";

const here = dirname(new URL(import.meta.url).pathname);
const runners = join(here, "runners");
const PARTS = ["game-server", "many-small", "fleet"] as const;
type Part = (typeof PARTS)[number];

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "1" },
    data: { type: "string", default: join(here, "..", ".data") },
    days: { type: "string", default: "10" },
    runs: { type: "string", default: "1" },
    /** Which trees to measure (game-server: sections 1, 2, 3, 5; many-small: 2 and 6; fleet: 4). */
    parts: { type: "string", default: PARTS.join(",") },
    out: { type: "string" },
    /** Servers of the fleet backed up (default all 10; CI's tiny run takes fewer). */
    "fleet-servers": { type: "string", default: String(FLEET_SERVERS) },
    /** Leave out the Strongbox row with a password. */
    "no-password": { type: "boolean", default: false },
  },
});
const scale = Number(values.scale);
const days = Number(values.days);
const runs = Number(values.runs);
const fleetServers = Number(values["fleet-servers"]);
const parts = values.parts.split(",").map((p) => p.trim()) as Part[];
for (const p of parts)
  if (!PARTS.includes(p)) throw new Error(`repo-bench: unknown part ${p} (${PARTS.join(", ")})`);
const whole = (n: number, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(n) && n >= 1 && n <= max;
if (!(scale > 0) || !whole(days) || !whole(runs) || !whole(fleetServers, FLEET_SERVERS))
  throw new Error(
    `repo-bench: --scale must be above 0, --days and --runs whole numbers from 1, --fleet-servers from 1 to ${FLEET_SERVERS}`,
  );
const dataDir = resolve(values.data);
const started = new Date();
const out = resolve(
  values.out ?? join(here, "..", "results", `repository-${started.toISOString().slice(0, 10)}.md`),
);

const MiB = 1024 * 1024;
/** The file of the single-file restore: a region file the churn rewrites sectors of. */
const ONE_FILE = "world/region/r.0.0.mca";
/** Snapshots already in the repository when section 6 measures a backup's memory. */
const EARLIER_SNAPSHOTS = 10;
/** restic cannot make a repository without a password (0.14); Strongbox's row with one uses another. */
const RESTIC_PASSWORD = "bench";
const STRONGBOX_PASSWORD = "bench password";

// ---------------------------------------------------------------------------------------------------
// The peers and their repositories

type Kind = "strongbox" | "restic" | "borg";
interface Peer {
  id: string;
  kind: Kind;
  password?: string;
}

const PEERS: Peer[] = [
  { id: "Strongbox", kind: "strongbox" },
  { id: "Strongbox, password", kind: "strongbox", password: STRONGBOX_PASSWORD },
  { id: "restic (password)", kind: "restic", password: RESTIC_PASSWORD },
  { id: "borg", kind: "borg" },
];
const missing = (["restic", "borg"] as const).filter((tool) => !have(tool));
for (const tool of missing) console.error(`repo-bench: ${tool} is not installed: its rows are SKIPPED`);
const peers = PEERS.filter(
  (p) =>
    (p.kind === "strongbox" || !missing.includes(p.kind)) &&
    !(values["no-password"] && p.kind === "strongbox" && p.password),
);
const ours = PEERS[0]!;

const work = mkdtempSync(join(tmpdir(), "strongbox-repo-bench-"));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
}

/** One repository of one peer: `dir/repo`, and the peer's local cache (restic, borg) in `dir/cache`. */
interface Repo {
  peer: Peer;
  name: string;
  dir: string;
  path: string;
  cache: string;
  /** Environment assignments for the peer's commands. */
  env: string;
  /** Snapshots made so far, oldest first: Strongbox and restic ids, borg archive names. */
  snapshots: string[];
}

let resticTemplate: string | undefined;

/** A new, empty repository (not timed). */
async function createRepo(peer: Peer, name: string): Promise<Repo> {
  const dir = join(work, "repos", `${slug(peer.id)}-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "repo");
  const cache = join(dir, "cache");
  const repo: Repo = { peer, name, dir, path, cache, env: "", snapshots: [] };
  if (peer.kind === "strongbox") {
    if (peer.password) repo.env = `STRONGBOX_BENCH_PASSWORD=${q(peer.password)} `;
    await initRepository({ storage: createLocalStorage({ root: path }), ...passwordOf(peer) });
  } else if (peer.kind === "restic") {
    repo.env = `RESTIC_PASSWORD=${q(RESTIC_PASSWORD)} RESTIC_CACHE_DIR=${q(cache)} `;
    // restic's init calibrates its key derivation (3 s or more); a copy of one empty repository, each with
    // a cache of its own, is the same starting point.
    if (resticTemplate === undefined) {
      resticTemplate = join(work, "restic-empty");
      execFileSync("restic", ["init", "-q", "-r", resticTemplate], {
        env: { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(work, "restic-empty-cache") },
      });
    }
    cpSync(resticTemplate, path, { recursive: true });
  } else {
    repo.env = `BORG_BASE_DIR=${q(cache)} BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes `;
    execFileSync("bash", ["-c", `${repo.env}borg init -e none ${q(path)}`]);
  }
  return repo;
}

function passwordOf(peer: Peer): { password?: string } {
  return peer.kind === "strongbox" && peer.password ? { password: peer.password } : {};
}

const slug = (id: string) =>
  id
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/-$/, "");
const strongboxRunner = (...args: string[]) =>
  // The `strongbox` command starts Node with this option (packages/cli/bin); the runner does the same.
  `node --max-semi-space-size=1 ${q(join(runners, "strongbox-repo.mjs"))} ${args.map(q).join(" ")}`;

/** restic's and borg's excludes for gitignore-style rules (a rule without an inner slash matches at any depth). */
function excludes(peer: Peer, source: string, ignore: readonly string[]): string {
  return ignore
    .map((rule) => {
      const bare = rule.replace(/\/$/, "");
      const anchored = bare.replace(/^\//, "").includes("/");
      if (peer.kind === "restic")
        return `--exclude ${q(anchored ? `${source}/${bare.replace(/^\//, "")}` : bare)}`;
      return `--exclude ${q(anchored ? `sh:${bare.replace(/^\//, "")}` : `sh:**/${bare}`)}`;
    })
    .join(" ");
}

let archives = 0;

/** What a backup reported. */
interface BackupResult {
  sample: Measured;
  snapshot: string;
  files: number;
  /** Files taken from the parent without being read (absent: the tool does not say). */
  unchanged?: number | undefined;
}

/** One timed backup of `source` (the server `label`) into `repo`. */
function backupOnce(
  repo: Repo,
  source: string,
  label: string,
  ignore: readonly string[],
  reread = false,
): BackupResult {
  const { peer } = repo;
  let command: string;
  if (peer.kind === "strongbox") {
    command =
      repo.env +
      strongboxRunner(
        "backup",
        repo.path,
        source,
        label,
        JSON.stringify(ignore),
        ...(reread ? ["reread"] : []),
      );
  } else if (peer.kind === "restic") {
    command = `cd ${q(source)} && ${repo.env}restic -r ${q(repo.path)} backup --json -q ${excludes(peer, source, ignore)} .`;
  } else {
    const archive = `${label}-${archives++}`;
    command = `cd ${q(source)} && ${repo.env}borg create --json ${excludes(peer, source, ignore)} ${q(`${repo.path}::${archive}`)} .`;
  }
  const sample = measure(command, work);
  const result = parseBackup(peer, sample);
  repo.snapshots.push(result.snapshot);
  log(`${repo.name} ${peer.id} backup of ${label}`, sample);
  return result;
}

function parseBackup(peer: Peer, sample: Measured): BackupResult {
  if (peer.kind === "strongbox") {
    const report = sample.report as { snapshot: string; counts: { files: number; unchangedFiles: number } };
    return {
      sample,
      snapshot: report.snapshot,
      files: report.counts.files,
      unchanged: report.counts.unchangedFiles,
    };
  }
  if (peer.kind === "restic") {
    const summary = sample.report as {
      snapshot_id: string;
      total_files_processed: number;
      files_unmodified: number;
    };
    return {
      sample,
      snapshot: summary.snapshot_id,
      files: summary.total_files_processed,
      unchanged: summary.files_unmodified,
    };
  }
  const { archive } = JSON.parse(sample.stdout) as { archive: { name: string; stats: { nfiles: number } } };
  return { sample, snapshot: archive.name, files: archive.stats.nfiles };
}

/** One timed restore of `snapshot` into the empty folder `target` (only `path` when given). */
function restoreOnce(repo: Repo, snapshot: string, target: string, path?: string): Measured {
  const { peer } = repo;
  let command: string;
  if (peer.kind === "strongbox") {
    command = repo.env + strongboxRunner("restore", repo.path, snapshot, target, ...(path ? [path] : []));
  } else if (peer.kind === "restic") {
    const include = path ? ` --include ${q(`/${path}`)}` : "";
    command = `${repo.env}restic -r ${q(repo.path)} restore -q ${q(snapshot)} --target ${q(target)}${include}`;
  } else {
    command = `cd ${q(target)} && ${repo.env}borg extract ${q(`${repo.path}::${snapshot}`)}${path ? ` ${q(path)}` : ""}`;
  }
  const sample = measure(command, work);
  log(`${repo.name} ${peer.id} restore${path ? ` of ${path}` : ""}`, sample);
  return sample;
}

/** Opening the repository and nothing else: what every command of the peer pays before its work. */
function openOnce(repo: Repo): Measured {
  const { peer } = repo;
  const command =
    peer.kind === "strongbox"
      ? repo.env + strongboxRunner("open", repo.path)
      : peer.kind === "restic"
        ? `${repo.env}restic -r ${q(repo.path)} cat config > /dev/null`
        : `${repo.env}borg info --json ${q(repo.path)} > /dev/null`;
  const sample = measure(command, work);
  log(`${repo.name} ${peer.id} open`, sample);
  return sample;
}

function log(what: string, sample: Sample): void {
  console.error(
    `repo-bench: ${what}: ${sample.seconds.toFixed(2)} s, ${sample.cpuSeconds.toFixed(2)} s CPU, ${sample.rssMiB.toFixed(0)} MiB`,
  );
}

/** `du -sb`: bytes on disk of a folder (apparent sizes). */
function du(path: string): number {
  if (!existsSync(path)) return 0;
  return Number(execFileSync("du", ["-sb", path], { encoding: "utf8" }).split(/\s/)[0]);
}

/** Files and bytes of the regular files under `root`. */
function treeSize(root: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");

// ---------------------------------------------------------------------------------------------------
// The measurements

/** Everything measured of one peer. */
interface PeerFigures {
  first?: Sample[];
  firstFiles?: number;
  storedFirst?: number;
  rebackupGs?: Sample[];
  msFirst?: Sample[];
  rebackupMs?: Sample[];
  churn?: Sample[];
  storedDays?: number;
  cacheDays?: number;
  fleet?: Sample[];
  fleetStored?: number;
  restore?: Sample[];
  restoreOne?: Sample[];
  restoreOneRead?: number;
  rss?: Sample;
  rssReread?: Sample;
  open?: Sample[];
}

interface Reference {
  packFirst?: Sample[];
  packFirstBytes?: number;
  packDays?: Sample[];
  packBytes?: number;
  findGs?: Sample[];
  findMs?: Sample[];
  nodeWalkMs?: Sample[];
  oneFileBytes?: number;
}

const figures = new Map<string, PeerFigures>(peers.map((p) => [p.id, {}]));
const fig = (peer: Peer) => figures.get(peer.id)!;
const reference: Reference = {};
const loads: { part: string; before: string; after: string }[] = [];
const trees: { gs?: TreeInfo; ms?: TreeInfo; fleet?: FleetInfo } = {};
const add = (list: Sample[] | undefined, sample: Measured): Sample[] => [...(list ?? []), sampleOf(sample)];

const pack = (source: string, ignore: readonly string[], archive: string) =>
  `node ${q(join(runners, "strongbox-pack.mjs"))} ${q(source)} ${q(archive)} 1 ${q(JSON.stringify(ignore))}`;
const find = (root: string) => `find ${q(root)} -printf '%s %T@\\n' > /dev/null`;
const nodeWalk = (root: string) => `node ${q(join(runners, "node-walk.mjs"))} ${q(root)} > /dev/null`;

/** Sections 1, 2 (game-server), 3 and 5. */
async function gameServer(): Promise<void> {
  const { root: pristine, info } = ensureTree(dataDir, "game-server", scale);
  trees.gs = info;
  // Backed up from a copy, which the churn days change.
  const source = join(work, "game-server");
  cpSync(pristine, source, { recursive: true, preserveTimestamps: true });
  const repos = new Map<string, Repo>();

  // 1. First backup: a fresh repository each round.
  for (let r = 0; r < runs; r++) {
    for (const peer of peers) {
      const repo = await createRepo(peer, "game-server");
      repos.set(peer.id, repo);
      const result = backupOnce(repo, source, "game-server", info.ignore);
      fig(peer).first = add(fig(peer).first, result.sample);
      fig(peer).firstFiles = result.files;
    }
    const archive = join(work, "day-0.tar.gz");
    const sample = measure(pack(source, info.ignore, archive), work);
    log("game-server .tar.gz -1", sample);
    reference.packFirst = add(reference.packFirst, sample);
    reference.packFirstBytes = statSync(archive).size;
    rmSync(archive);
  }
  const files = new Set(peers.map((p) => fig(p).firstFiles));
  if (files.size > 1)
    throw new Error(`repo-bench: the peers backed up different file counts: ${JSON.stringify([...figures])}`);
  for (const peer of peers) fig(peer).storedFirst = du(repos.get(peer.id)!.path);

  // 2. Re-backup, nothing changed.
  for (let r = 0; r < runs; r++) {
    for (const peer of peers) {
      const result = backupOnce(repos.get(peer.id)!, source, "game-server", info.ignore);
      checkUnchanged(peer, result);
      fig(peer).rebackupGs = add(fig(peer).rebackupGs, result.sample);
    }
    const sample = measure(find(source), work);
    log("game-server find walk", sample);
    reference.findGs = add(reference.findGs, sample);
  }

  // 3. Churn days.
  reference.packBytes = reference.packFirstBytes;
  for (let day = 1; day <= days; day++) {
    applyChurnDay(source, day, scale);
    for (const peer of peers) {
      const result = backupOnce(repos.get(peer.id)!, source, "game-server", info.ignore);
      fig(peer).churn = add(fig(peer).churn, result.sample);
    }
    const archive = join(work, `day-${day}.tar.gz`);
    const sample = measure(pack(source, info.ignore, archive), work);
    log(`game-server day ${day} .tar.gz -1`, sample);
    reference.packDays = add(reference.packDays, sample);
    reference.packBytes! += statSync(archive).size;
    rmSync(archive);
  }
  for (const peer of peers) {
    fig(peer).storedDays = du(repos.get(peer.id)!.path);
    fig(peer).cacheDays = du(repos.get(peer.id)!.cache);
  }

  // 5. Restores of the last snapshot into empty folders (removed only after every round).
  // What a restore must hold: the tree less its ignored folders (game-server's rules are folders, and
  // `*.log`, which only logs/ holds).
  const expected = treeSize(source);
  const ignoredNow = info.ignore
    .filter((rule) => rule.endsWith("/"))
    .map((rule) => treeSize(join(source, rule)));
  const want = {
    files: expected.files - ignoredNow.reduce((sum, t) => sum + t.files, 0),
    bytes: expected.bytes - ignoredNow.reduce((sum, t) => sum + t.bytes, 0),
  };
  const oneFile = readFileSync(join(source, ONE_FILE));
  reference.oneFileBytes = oneFile.length;
  const targets: string[] = [];
  let n = 0;
  for (let r = 0; r < runs; r++) {
    for (const peer of peers) {
      const repo = repos.get(peer.id)!;
      const last = repo.snapshots.at(-1)!;
      const full = join(work, "restores", `${n++}`);
      mkdirSync(full, { recursive: true });
      targets.push(full);
      fig(peer).restore = add(fig(peer).restore, restoreOnce(repo, last, full));
      const got = treeSize(full);
      if (got.files !== want.files || got.bytes !== want.bytes)
        throw new Error(
          `repo-bench: ${peer.id} restored ${JSON.stringify(got)}, not ${JSON.stringify(want)}`,
        );
      const one = join(work, "restores", `${n++}`);
      mkdirSync(one, { recursive: true });
      targets.push(one);
      const sample = restoreOnce(repo, last, one, ONE_FILE);
      fig(peer).restoreOne = add(fig(peer).restoreOne, sample);
      if (typeof sample.report?.bytesRead === "number") fig(peer).restoreOneRead = sample.report.bytesRead;
      if (!readFileSync(join(one, ONE_FILE)).equals(oneFile) || treeSize(one).files !== 1)
        throw new Error(`repo-bench: ${peer.id}'s single-file restore does not hold exactly ${ONE_FILE}`);
    }
  }
  for (const target of targets) rmSync(target, { recursive: true, force: true });

  // What every command pays before its work.
  for (let r = 0; r < runs; r++)
    for (const peer of peers) fig(peer).open = add(fig(peer).open, openOnce(repos.get(peer.id)!));
  rmSync(source, { recursive: true, force: true });
}

function checkUnchanged(peer: Peer, result: BackupResult): void {
  if (result.unchanged !== undefined && result.unchanged !== result.files)
    console.error(
      `repo-bench: WARNING: ${peer.id} re-read ${result.files - result.unchanged} of ${result.files} unchanged files`,
    );
}

/** Section 2 (many-small) and 6. */
async function manySmall(): Promise<void> {
  const { root: source, info } = ensureTree(dataDir, "many-small", scale);
  trees.ms = info;
  const repos = new Map<string, Repo>();
  for (const peer of peers) {
    const repo = await createRepo(peer, "many-small");
    repos.set(peer.id, repo);
    fig(peer).msFirst = add(undefined, backupOnce(repo, source, "many-small", info.ignore).sample);
  }
  for (let r = 0; r < runs; r++) {
    for (const peer of peers) {
      const result = backupOnce(repos.get(peer.id)!, source, "many-small", info.ignore);
      checkUnchanged(peer, result);
      fig(peer).rebackupMs = add(fig(peer).rebackupMs, result.sample);
    }
    const sample = measure(find(source), work);
    log("many-small find walk", sample);
    reference.findMs = add(reference.findMs, sample);
    const floor = measure(nodeWalk(source), work);
    log("many-small Node walk", floor);
    reference.nodeWalkMs = add(reference.nodeWalkMs, floor);
  }

  // 6. Memory with history: earlier snapshots made in this process (not timed), then one backup measured
  // with the file-level skip and one reading every file.
  for (const peer of peers.filter((p) => p.kind === "strongbox")) {
    const repo = repos.get(peer.id)!;
    const opened = await openRepository({
      storage: createLocalStorage({ root: repo.path }),
      ...passwordOf(peer),
    });
    while ((await listSnapshotIds(opened)).length < EARLIER_SNAPSHOTS)
      await backup(opened, { source, server: "many-small", ignore: info.ignore });
    fig(peer).rss = sampleOf(backupOnce(repo, source, "many-small", info.ignore).sample);
    fig(peer).rssReread = sampleOf(backupOnce(repo, source, "many-small", info.ignore, true).sample);
  }
}

/** Section 4. */
async function fleet(): Promise<void> {
  const { servers: all, info } = ensureFleet(dataDir, scale);
  trees.fleet = info;
  const servers = all.slice(0, fleetServers);
  for (const peer of peers) {
    const repo = await createRepo(peer, "fleet");
    const samples = servers.map((server, i) => sampleOf(backupOnce(repo, server, `server-${i}`, []).sample));
    fig(peer).fleet = samples;
    fig(peer).fleetStored = du(repo.path);
    rmSync(repo.dir, { recursive: true, force: true });
  }
}

const PART_RUNS: Record<Part, () => Promise<void>> = {
  "game-server": gameServer,
  "many-small": manySmall,
  fleet,
};

try {
  for (const part of parts) {
    const before = load();
    console.error(`repo-bench: ${part} at scale ${scale} (load average ${before})`);
    await PART_RUNS[part]();
    loads.push({ part, before, after: load() });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------
// The report

const secondsOf = (samples: Sample[] | undefined) =>
  samples ? median(samples.map((s) => s.seconds)) : undefined;
const cpuOf = (samples: Sample[] | undefined) =>
  samples ? median(samples.map((s) => s.cpuSeconds)) : undefined;
const rssOf = (samples: Sample[] | undefined) =>
  samples ? Math.max(...samples.map((s) => s.rssMiB)) : undefined;
const sumOf = (samples: Sample[] | undefined) => samples?.reduce((sum, s) => sum + s.seconds, 0);
const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / MiB);
/** The template once and the worlds of the servers backed up. */
const fleetBase = () =>
  trees.fleet
    ? trees.fleet.templateBytes + trees.fleet.worlds.slice(0, fleetServers).reduce((sum, b) => sum + b, 0)
    : undefined;

interface Row {
  figure: string;
  value: (f: PeerFigures, peer: Peer) => number | undefined;
  digits: number;
  /** Today's approach: a full level-1 .tar.gz with core's packToFile each time. */
  today?: number | undefined;
  reference?: { value: number | undefined; label: string };
}

const rows: Row[] = [];
if (trees.gs) {
  rows.push(
    {
      figure: "1. first backup of game-server, s",
      value: (f) => secondsOf(f.first),
      digits: 2,
      today: secondsOf(reference.packFirst),
    },
    {
      figure: "1. first backup, CPU s",
      value: (f) => cpuOf(f.first),
      digits: 2,
      today: cpuOf(reference.packFirst),
    },
    {
      figure: "1. first backup, peak RSS MiB",
      value: (f) => rssOf(f.first),
      digits: 0,
      today: rssOf(reference.packFirst),
    },
    {
      figure: "1. stored after the first backup, MiB",
      value: (f) => mib(f.storedFirst),
      digits: 1,
      today: mib(reference.packFirstBytes),
    },
    {
      figure: "2. re-backup, nothing changed, game-server, s",
      value: (f) => secondsOf(f.rebackupGs),
      digits: 2,
      reference: { value: secondsOf(reference.findGs), label: "find walk" },
    },
  );
}
if (trees.ms) {
  rows.push(
    {
      figure: "2. first backup of many-small (not a target), s",
      value: (f) => secondsOf(f.msFirst),
      digits: 2,
    },
    { figure: "2. first backup of many-small, peak RSS MiB", value: (f) => rssOf(f.msFirst), digits: 0 },
    {
      figure: "2. re-backup, nothing changed, many-small, s",
      value: (f) => secondsOf(f.rebackupMs),
      digits: 2,
      reference: { value: secondsOf(reference.findMs), label: "find walk" },
    },
    { figure: "2. re-backup of many-small, peak RSS MiB", value: (f) => rssOf(f.rebackupMs), digits: 0 },
    {
      figure: "2. many-small: Node only listing and lstat-ing every entry (runners/node-walk.mjs), s",
      value: () => undefined,
      digits: 2,
      reference: { value: secondsOf(reference.nodeWalkMs), label: "Node walk" },
    },
  );
}
if (trees.gs) {
  rows.push(
    {
      figure: `3. churn day (median of ${days}), s`,
      value: (f) => secondsOf(f.churn),
      digits: 2,
      today: secondsOf(reference.packDays),
    },
    {
      figure: `3. stored after the first backup and ${days} days, MiB`,
      value: (f) => mib(f.storedDays),
      digits: 1,
      today: mib(reference.packBytes),
    },
    { figure: "3. local cache besides the repository, MiB", value: (f) => mib(f.cacheDays), digits: 1 },
  );
}
if (trees.fleet) {
  rows.push(
    { figure: `4. fleet: ${fleetServers} backups, s (total)`, value: (f) => sumOf(f.fleet), digits: 2 },
    {
      figure: "4. fleet: stored, MiB",
      value: (f) => mib(f.fleetStored),
      digits: 1,
      reference: { value: mib(fleetBase()), label: "template + worlds" },
    },
    {
      figure: "4. fleet: stored / (template + worlds)",
      value: (f) => (f.fleetStored === undefined ? undefined : f.fleetStored / fleetBase()!),
      digits: 3,
    },
  );
}
if (trees.gs) {
  rows.push(
    { figure: "5. full restore of the last snapshot, s", value: (f) => secondsOf(f.restore), digits: 2 },
    { figure: "5. full restore, peak RSS MiB", value: (f) => rssOf(f.restore), digits: 0 },
    { figure: `5. single-file restore (${ONE_FILE}), s`, value: (f) => secondsOf(f.restoreOne), digits: 2 },
    {
      figure: "5. single-file restore: stored bytes read, KiB",
      value: (f) => (f.restoreOneRead === undefined ? undefined : f.restoreOneRead / 1024),
      digits: 0,
      reference: { value: (reference.oneFileBytes ?? 0) / 1024, label: "the file" },
    },
    {
      figure: "open the repository and stop (every command pays it), s",
      value: (f) => secondsOf(f.open),
      digits: 2,
    },
  );
}
if (trees.ms) {
  rows.push(
    {
      figure: `6. backup of many-small with ${EARLIER_SNAPSHOTS} earlier snapshots, s`,
      value: (f) => f.rss?.seconds,
      digits: 2,
    },
    { figure: "6. its peak RSS MiB", value: (f) => f.rss?.rssMiB, digits: 0 },
    { figure: "6. same, every file re-read (rereadAll), s", value: (f) => f.rssReread?.seconds, digits: 2 },
    { figure: "6. its peak RSS MiB ", value: (f) => f.rssReread?.rssMiB, digits: 0 },
  );
}

interface Target {
  target: string;
  limit: number;
  /** `<=` unless strictly below. */
  strict?: boolean;
  value: (peer: Peer) => number | undefined;
  /** What is missing when it cannot be computed. */
  needs?: Kind;
}

const byKind = (kind: Kind) => peers.find((p) => p.kind === kind);
const ratioTo = (kind: Kind, figure: (f: PeerFigures) => number | undefined) => (peer: Peer) => {
  const other = byKind(kind);
  const a = figure(fig(peer));
  const b = other && figure(fig(other));
  return a === undefined || b === undefined ? undefined : a / b;
};

const targetList: Target[] = [];
if (trees.gs)
  targetList.push({
    target: "re-backup game-server / restic",
    limit: 0.5,
    needs: "restic",
    value: ratioTo("restic", (f) => secondsOf(f.rebackupGs)),
  });
if (trees.ms) {
  targetList.push(
    {
      target: "re-backup many-small / restic",
      limit: 0.5,
      needs: "restic",
      value: ratioTo("restic", (f) => secondsOf(f.rebackupMs)),
    },
    {
      target: "re-backup many-small / find walk",
      limit: 2,
      value: (p) => secondsOf(fig(p).rebackupMs)! / secondsOf(reference.findMs)!,
    },
  );
}
if (trees.gs) {
  targetList.push(
    {
      target: "churn day (median) / restic",
      limit: 0.5,
      needs: "restic",
      value: ratioTo("restic", (f) => secondsOf(f.churn)),
    },
    {
      target: "first backup / restic",
      limit: 1,
      needs: "restic",
      value: ratioTo("restic", (f) => secondsOf(f.first)),
    },
    {
      target: `stored after ${days} days / restic`,
      limit: 0.8,
      needs: "restic",
      value: ratioTo("restic", (f) => f.storedDays),
    },
    {
      target: `stored after ${days} days / borg`,
      limit: 1,
      strict: true,
      needs: "borg",
      value: ratioTo("borg", (f) => f.storedDays),
    },
  );
}
if (trees.fleet)
  targetList.push({
    target: "fleet stored / (template + worlds)",
    limit: 1.3,
    value: (p) => fig(p).fleetStored! / fleetBase()!,
  });
if (trees.gs) {
  targetList.push(
    {
      target: "full restore / restic",
      limit: 1,
      needs: "restic",
      value: ratioTo("restic", (f) => secondsOf(f.restore)),
    },
    {
      target: "single-file restore / restic",
      limit: 1,
      needs: "restic",
      value: ratioTo("restic", (f) => secondsOf(f.restoreOne)),
    },
  );
}
if (trees.ms) {
  targetList.push({
    target: `peak RSS MiB, many-small backup with ${EARLIER_SNAPSHOTS} earlier snapshots (skip and rereadAll)`,
    limit: 160,
    value: (p) => Math.max(fig(p).rss!.rssMiB, fig(p).rssReread!.rssMiB),
  });
}

const strongboxPeers = peers.filter((p) => p.kind === "strongbox");
const met = (t: Target, value: number) => (t.strict ? value < t.limit : value <= t.limit);
const verdict = (t: Target, peer: Peer) => {
  const value = t.value(peer);
  if (value === undefined || Number.isNaN(value))
    return { text: `not measured (${t.needs ?? "?"} missing)`, pass: undefined };
  return { text: `${value.toFixed(2)} ${met(t, value) ? "PASS" : "FAIL"}`, pass: met(t, value) };
};

const format = (value: number | undefined, digits: number) =>
  value === undefined || Number.isNaN(value)
    ? "-"
    : value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const version = (command: string) => {
  try {
    return execFileSync("bash", ["-c", command], { encoding: "utf8" }).trim().split("\n")[0];
  } catch {
    return "not installed";
  }
};

const argv = process.argv.slice(2).map((a) => (/^[\w./@:=,-]+$/.test(a) ? a : q(a)));
const lines: string[] = [];
lines.push(
  `Repository benchmark of ${started.toISOString()}: \`cd benchmarks && npx tsx --conditions=source src/repository-bench.ts ${argv.join(" ")}\``,
  "",
  `Scale ${scale}, ${days} churn days, ${runs} run(s) of each timed operation (medians), ${cpus().length} cores, Node ${process.version}, ${version("restic version")}, ${version("borg --version")}. Load average (1, 5, 15 min): ${loads.map((l) => `${l.part} ${l.before} before, ${l.after} after`).join("; ")}.`,
  "",
);
const treeLines: string[] = [];
if (trees.gs)
  treeLines.push(
    `game-server@${scale}: ${trees.gs.files} files, ${format(mib(trees.gs.bytes), 1)} MiB, of which the backups take ${fig(ours).firstFiles} files (${trees.gs.ignore.join(", ")} ignored), changed by ${days} churn days`,
  );
if (trees.ms)
  treeLines.push(`many-small@${scale}: ${trees.ms.files} files, ${format(mib(trees.ms.bytes), 1)} MiB`);
if (trees.fleet)
  treeLines.push(
    `fleet@${scale}: ${fleetServers} servers of one template (${trees.fleet.templateFiles} files, ${format(mib(trees.fleet.templateBytes), 1)} MiB) and their own worlds (${format(mib(fleetBase()! - trees.fleet.templateBytes), 1)} MiB together)`,
  );
lines.push(`Trees: ${treeLines.join("; ")}.`, "");
lines.push(
  `| figure | ${peers.map((p) => p.id).join(" | ")} | full .tar.gz -1 (today) | reference |`,
  `|---|${peers.map(() => "---:|").join("")}---:|---|`,
);
for (const row of rows) {
  const cells = peers.map((p) => format(row.value(fig(p), p), row.digits));
  const today = row.today === undefined ? "" : format(row.today, row.digits);
  const ref =
    row.reference?.value === undefined
      ? ""
      : `${format(row.reference.value, row.digits)} (${row.reference.label})`;
  lines.push(`| ${row.figure.trim()} | ${cells.join(" | ")} | ${today} | ${ref} |`);
}
lines.push(
  "",
  `| target | limit | ${strongboxPeers.map((p) => p.id).join(" | ")} |`,
  `|---|---:|${strongboxPeers.map(() => "---|").join("")}`,
);
for (const t of targetList) {
  const limit = `${t.strict ? "<" : "≤"} ${t.limit}`;
  lines.push(`| ${t.target} | ${limit} | ${strongboxPeers.map((p) => verdict(t, p).text).join(" | ")} |`);
}
lines.push(
  "",
  "Every operation is its own process; seconds are whole-process wall time (GNU time), CPU user + system, RSS the largest process's peak. " +
    "restic 0.14 cannot work without a password, so its repository has one: every restic command derives its key (scrypt, calibrated at init) before its work, which the `open` row shows. " +
    "borg's repository is `-e none`; Strongbox's first column has no password. Stored bytes are `du -sb` of the repository; restic and borg also keep a local cache (its row), Strongbox none. " +
    "Today's approach: a full level-1 `.tar.gz` of the tree with core's `packToFile` each time (stored: the sum of the archives). The find walk: a stat-only `find -printf '%s %T@'` of the same tree.",
);
const markdown = `${lines.join("\n")}\n`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, markdown);
writeFileSync(
  out.replace(/\.md$/, "") + ".json",
  `${JSON.stringify({ date: started.toISOString(), scale, days, runs, loads, trees, reference, figures: Object.fromEntries(figures) }, null, 2)}\n`,
);
console.log(markdown);
const ourVerdicts = targetList.map((t) => ({ target: t.target, ...verdict(t, ours) }));
for (const v of ourVerdicts)
  console.log(`${v.pass === undefined ? "SKIP" : v.pass ? "PASS" : "FAIL"}: ${v.target}: ${v.text}`);
console.error(`repo-bench: wrote ${out}`);
