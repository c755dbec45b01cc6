/**
 * The benchmark harness: Strongbox pack and unpack against GNU tar, gzip, pigz, node-tar and tar-fs, on
 * generated trees, interleaved in one run. Each figure is the median of whole-process wall times.
 *
 *   pnpm build && pnpm bench [--scale 1] [--runs 3] [--slow-runs 1] [--trees many-small,game-server]
 *                            [--data benchmarks/.data] [--out benchmarks/results] [--no-slow] [--no-serve]
 *                            [--tools "strongbox -1,tar | pigz -1"]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureTree, TREE_NAMES, type TreeInfo, type TreeName } from "./generate.js";
import { have, measure, q, runnerReport, sampleOf } from "./measure.js";
import {
  checkServeTargets,
  checkTargets,
  renderMarkdown,
  type Sample,
  type ServeReport,
  type ServeResult,
  type ToolResult,
  type TreeReport,
} from "./report.js";

const here = dirname(new URL(import.meta.url).pathname);
const runners = join(here, "runners");

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
    "slow-runs": { type: "string", default: "1" },
    "no-slow": { type: "boolean", default: false },
    /** Leave out the `serve` rows (the API's latency while backups run). */
    "no-serve": { type: "boolean", default: false },
    trees: { type: "string", default: TREE_NAMES.join(",") },
    data: { type: "string", default: join(here, "..", ".data") },
    out: { type: "string", default: join(here, "..", "results") },
    /** Only the tools whose id contains one of these comma-separated strings. */
    tools: { type: "string" },
  },
});

const scale = Number(values.scale);
const runs = Number(values.runs);
const slowRuns = values["no-slow"] ? 0 : Number(values["slow-runs"]);
const threads = cpus().length;

interface Tool {
  id: string;
  kind: ToolResult["kind"];
  /** Slow peers run `--slow-runs` times without a warm-up. */
  slow?: boolean;
  /**
   * Deletes a large tree (a restore sets the old one aside and removes it). On ext4, creating files in
   * the minutes after deleting many costs several times more (measured: `tar -xzf` of many-small 6 s
   * before, 48-60 s after), so these run in rounds of their own, after every other tool.
   */
  deletes?: boolean;
  needs?: string;
  /** Shell command; `out` is a fresh path (an archive for pack, a folder for unpack). */
  command(tree: { root: string; info: TreeInfo }, out: string, archive: string): string;
  /** Work before the timed command (not timed). */
  prepare?(tree: { root: string }, out: string): void;
}

const excludes = (info: TreeInfo) =>
  info.ignore.map((p) => `--exclude=${q(`./${p.replace(/\/$/, "")}`)}`).join(" ");
const node = (script: string, ...args: string[]) =>
  `node ${q(join(runners, script))} ${args.map(q).join(" ")}`;
const tarc = (t: { root: string; info: TreeInfo }) => `tar -cf - ${excludes(t.info)} -C ${q(t.root)} .`;

const TOOLS: Tool[] = [
  {
    id: "strongbox -1",
    kind: "pack",
    command: (t, o) => node("strongbox-pack.mjs", t.root, o, "1", JSON.stringify(t.info.ignore)),
  },
  {
    id: "strongbox -6",
    kind: "pack",
    command: (t, o) => node("strongbox-pack.mjs", t.root, o, "6", JSON.stringify(t.info.ignore)),
  },
  {
    id: "strongbox -0",
    kind: "pack",
    command: (t, o) => node("strongbox-pack.mjs", t.root, o, "0", JSON.stringify(t.info.ignore)),
  },
  { id: "tar (no gzip)", kind: "pack", command: (t, o) => `${tarc(t)} > ${q(o)}` },
  { id: "tar | gzip -1", kind: "pack", command: (t, o) => `${tarc(t)} | gzip -1 > ${q(o)}` },
  { id: "tar | gzip -6", kind: "pack", command: (t, o) => `${tarc(t)} | gzip -6 > ${q(o)}` },
  {
    id: "tar | pigz -1",
    kind: "pack",
    needs: "pigz",
    command: (t, o) => `${tarc(t)} | pigz -1 -p ${threads} > ${q(o)}`,
  },
  {
    id: "tar | pigz -6",
    kind: "pack",
    needs: "pigz",
    command: (t, o) => `${tarc(t)} | pigz -6 -p ${threads} > ${q(o)}`,
  },
  {
    id: "node-tar -6",
    kind: "pack",
    slow: true,
    command: (t, o) => node("node-tar.mjs", "pack", t.root, o, "6"),
  },
  {
    id: "tar-fs + zlib -1",
    kind: "pack",
    slow: true,
    command: (t, o) => node("tar-fs.mjs", "pack", t.root, o, "1"),
  },
  { id: "tar -xzf", kind: "unpack", command: (_t, o, a) => `tar -xzf ${q(a)} -C ${q(o)}` },
  {
    id: "strongbox unpack",
    kind: "unpack",
    command: (_t, o, a) => node("strongbox-unpack.mjs", a, o, "merge"),
  },
  {
    id: "strongbox restore truncate (over the old tree)",
    kind: "unpack",
    deletes: true,
    prepare: (t, o) => execFileSync("cp", ["-a", `${t.root}/.`, o]),
    command: (_t, o, a) => node("strongbox-unpack.mjs", a, o, "truncate"),
  },
  {
    id: "strongbox restore merge (over the old tree)",
    kind: "unpack",
    deletes: true,
    prepare: (t, o) => execFileSync("cp", ["-a", `${t.root}/.`, o]),
    command: (_t, o, a) => node("strongbox-unpack.mjs", a, o, "merge"),
  },
  {
    id: "strongbox upload to S3 (s3rver)",
    kind: "upload",
    command: (_t, _o, a) => node("s3-upload.mjs", a),
  },
  {
    id: "strongbox migrate 2 backups, disk to S3 (s3rver)",
    kind: "upload",
    command: (t) => node("migrate.mjs", t.root, JSON.stringify(t.info.ignore), "2"),
  },
  {
    id: "node-tar unpack",
    kind: "unpack",
    slow: true,
    command: (_t, o, a) => node("node-tar.mjs", "unpack", a, o),
  },
  {
    id: "tar-fs unpack",
    kind: "unpack",
    slow: true,
    command: (_t, o, a) => node("tar-fs.mjs", "unpack", a, o),
  },
];

function ensurePigz(): boolean {
  if (have("pigz")) return true;
  if (process.getuid?.() === 0 && have("apt-get")) {
    console.error("bench: pigz is missing; installing it with apt-get");
    spawnSync("sh", ["-c", "apt-get update -qq && apt-get install -y -qq pigz"], { stdio: "ignore" });
  }
  if (have("pigz")) return true;
  console.error("bench: pigz is not installed and could not be installed: the pigz rows are SKIPPED");
  return false;
}

/** Strongbox's level-1 archive of the tree, which the unpack and upload rows read. */
function makeArchive(tree: { root: string; info: TreeInfo }, archive: string): void {
  execFileSync("bash", [
    "-c",
    node("strongbox-pack.mjs", tree.root, archive, "1", JSON.stringify(tree.info.ignore)),
  ]);
}

function benchTree(name: TreeName): TreeReport {
  console.error(`bench: generating ${name} at scale ${scale}`);
  const tree = ensureTree(resolve(values.data), name, scale);
  const work = mkdtempSync(join(resolve(values.data), `work-${name}-`));
  const archive = join(work, "input.tar.gz");
  const wanted = values.tools?.split(",").map((s) => s.trim());
  const tools = TOOLS.filter((t) => !t.needs || (t.needs === "pigz" ? pigzOk : have(t.needs))).filter(
    (t) => wanted === undefined || wanted.some((w) => t.id.includes(w)),
  );
  const samples = new Map<string, Sample[]>(tools.map((t) => [t.id, []]));
  const sizes = new Map<string, number>();
  let n = 0;
  const runOnce = (tool: Tool, record: boolean) => {
    const out = join(work, `out-${n++}`);
    if (tool.kind === "unpack") mkdirSync(out);
    if (tool.kind !== "pack" && !existsSync(archive)) makeArchive(tree, archive);
    tool.prepare?.(tree, out);
    const sample = sampleOf(measure(tool.command(tree, out, archive), work));
    if (tool.kind === "pack") {
      sizes.set(tool.id, statSync(out).size);
      if (tool.id === "strongbox -1" && !existsSync(archive)) execFileSync("cp", [out, archive]);
      rmSync(out);
    }
    if (record) samples.get(tool.id)!.push(sample);
    console.error(
      `bench: ${name} ${tool.id}: ${sample.seconds.toFixed(2)} s, ${sample.cpuSeconds.toFixed(2)} s CPU, ${sample.rssMiB.toFixed(0)} MiB`,
    );
  };
  try {
    // Warm-up round (page cache, JIT), then interleaved rounds so drift hits every tool alike.
    const rounds = (group: Tool[]) => {
      for (const tool of group) runOnce(tool, false);
      for (let r = 0; r < runs; r++) for (const tool of group) runOnce(tool, true);
    };
    rounds(tools.filter((t) => !t.slow && !t.deletes));
    for (let r = 0; r < slowRuns; r++) for (const tool of tools.filter((t) => t.slow)) runOnce(tool, true);
    rounds(tools.filter((t) => !t.slow && t.deletes));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const results: ToolResult[] = tools
    .filter((t) => samples.get(t.id)!.length > 0)
    .map((t) => ({ id: t.id, kind: t.kind, samples: samples.get(t.id)!, archiveBytes: sizes.get(t.id) }));
  const date = new Date().toISOString();
  return { tree: tree.info, date, results, targets: checkTargets(tree.info, results) };
}

/**
 * `measured`, preceded by the trees of the previous results at `file` that this run did not measure, so
 * re-running one tree keeps the others (each tree's report carries its own date).
 */
function withEarlierTrees(measured: TreeReport[], file: string): TreeReport[] {
  if (!existsSync(file)) return measured;
  const earlier = (JSON.parse(readFileSync(file, "utf8")) as { reports: TreeReport[] }).reports;
  const kept = earlier.filter((r) => !measured.some((m) => m.tree.name === r.tree.name));
  const order = (r: TreeReport) => TREE_NAMES.indexOf(r.tree.name);
  return [...kept, ...measured].sort((a, b) => order(a) - order(b));
}

/** Servers of the `serve` rows: ~60 MiB each at scale 1 (many-small at 0.072: 7,200 files). */
const SERVE_TREE_SCALE = 0.072;
/** Clients polling the list and a backup's details while the backups run. */
const SERVE_CLIENTS = 16;

/**
 * `strongbox serve` under load: 6 backups at once with 16 clients polling the API (latency), then 50
 * backups asked for at once (memory). One run each: every row already aggregates many requests.
 */
function benchServe(): ServeReport {
  const tree = ensureTree(resolve(values.data), "many-small", SERVE_TREE_SCALE * scale);
  const rows = [
    { id: "6 backups at once", servers: 6, backups: 6 },
    { id: "50 backups asked for at once", servers: 50, backups: 50 },
  ];
  const results = rows.map((row): ServeResult => {
    const command = node(
      "serve-load.mjs",
      tree.root,
      String(row.servers),
      String(row.backups),
      String(SERVE_CLIENTS),
    );
    const child = spawnSync("bash", ["-c", command], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const report = runnerReport(child.stdout) as ServeRunnerReport | undefined;
    if (child.status !== 0 || report?.latencyMs === undefined)
      throw new Error(`bench: serve failed (${child.status}): ${command}\n${child.stderr}`);
    console.error(`bench: serve ${row.id}: ${JSON.stringify(report)}`);
    return {
      ...row,
      clients: SERVE_CLIENTS,
      seconds: report.seconds,
      cpuSeconds: report.cpuSeconds,
      mainThreadCpuSeconds: report.mainThreadCpuSeconds,
      peakRssMiB: report.maxRssKiB / 1024,
      requests: report.requests,
      latencyMs: report.latencyMs,
      idleRequests: report.idleRequests,
      idleLatencyMs: report.idleLatencyMs,
    };
  });
  return {
    date: new Date().toISOString(),
    serverMiB: tree.info.bytes / 2 ** 20,
    serverFiles: tree.info.files,
    results,
    targets: checkServeTargets(results),
  };
}

/** What serve-load.mjs prints on its last line. */
interface ServeRunnerReport {
  seconds: number;
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  maxRssKiB: number;
  requests: number;
  latencyMs: ServeResult["latencyMs"];
  idleRequests: number;
  idleLatencyMs: ServeResult["latencyMs"];
}

/** The `serve` rows of the previous results at `file`, kept when this run leaves them out. */
function earlierServe(file: string): ServeReport | undefined {
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, "utf8")) as { serve?: ServeReport }).serve;
}

const pigzOk = ensurePigz();
// `--trees ""` measures no tree (the serve rows alone).
const trees = values.trees
  .split(",")
  .map((t) => t.trim())
  .filter((t) => t !== "") as TreeName[];
for (const t of trees)
  if (!TREE_NAMES.includes(t)) throw new Error(`bench: unknown tree ${t} (${TREE_NAMES.join(", ")})`);
const measured = trees.map(benchTree);
const serve = values["no-serve"] ? undefined : benchServe();
const meta = {
  date: new Date().toISOString(),
  scale,
  runs,
  slowRuns,
  cpus: threads,
  node: process.version,
  tar: execFileSync("tar", ["--version"], { encoding: "utf8" }).split("\n")[0],
  pigz: pigzOk,
};
mkdirSync(values.out, { recursive: true });
const stem = join(values.out, scale === 1 ? "latest" : `latest-scale-${scale}`);
const reports = withEarlierTrees(measured, `${stem}.json`);
const serveReport = serve ?? earlierServe(`${stem}.json`);
const markdown = renderMarkdown(meta, reports, serveReport);
writeFileSync(`${stem}.md`, markdown);
writeFileSync(`${stem}.json`, `${JSON.stringify({ meta, reports, serve: serveReport }, null, 2)}\n`);
console.log(markdown);
console.error(`bench: wrote ${stem}.md and ${stem}.json`);
