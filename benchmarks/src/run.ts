/**
 * The benchmark harness: Strongbox pack and unpack against GNU tar, gzip, pigz, node-tar and tar-fs, on
 * generated trees, interleaved in one run. Each figure is the median of whole-process wall times.
 *
 *   pnpm build && pnpm bench [--scale 1] [--runs 3] [--slow-runs 1] [--trees many-small,game-server]
 *                            [--data benchmarks/.data] [--out benchmarks/results] [--no-slow]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureTree, TREE_NAMES, type TreeInfo, type TreeName } from "./generate.js";
import { checkTargets, renderMarkdown, type Sample, type ToolResult, type TreeReport } from "./report.js";

const here = dirname(new URL(import.meta.url).pathname);
const runners = join(here, "runners");

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
    "slow-runs": { type: "string", default: "1" },
    "no-slow": { type: "boolean", default: false },
    trees: { type: "string", default: TREE_NAMES.join(",") },
    data: { type: "string", default: join(here, "..", ".data") },
    out: { type: "string", default: join(here, "..", "results") },
  },
});

const scale = Number(values.scale);
const runs = Number(values.runs);
const slowRuns = values["no-slow"] ? 0 : Number(values["slow-runs"]);
const threads = cpus().length;
const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

interface Tool {
  id: string;
  kind: "pack" | "unpack";
  /** Slow peers run `--slow-runs` times without a warm-up. */
  slow?: boolean;
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
  {
    id: "strongbox unpack",
    kind: "unpack",
    command: (_t, o, a) => node("strongbox-unpack.mjs", a, o, "merge"),
  },
  {
    id: "strongbox restore truncate (over the old tree)",
    kind: "unpack",
    prepare: (t, o) => execFileSync("cp", ["-a", `${t.root}/.`, o]),
    command: (_t, o, a) => node("strongbox-unpack.mjs", a, o, "truncate"),
  },
  {
    id: "strongbox restore merge (over the old tree)",
    kind: "unpack",
    prepare: (t, o) => execFileSync("cp", ["-a", `${t.root}/.`, o]),
    command: (_t, o, a) => node("strongbox-unpack.mjs", a, o, "merge"),
  },
  { id: "tar -xzf", kind: "unpack", command: (_t, o, a) => `tar -xzf ${q(a)} -C ${q(o)}` },
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

function have(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

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

function measure(command: string, work: string): Sample {
  const timeFile = join(work, "time.txt");
  const useTime = existsSync("/usr/bin/time");
  const argv = useTime
    ? ["/usr/bin/time", "-f", "%e %M", "-o", timeFile, "bash", "-c", command]
    : ["bash", "-c", command];
  const start = process.hrtime.bigint();
  const child = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (child.status !== 0)
    throw new Error(`bench: command failed (${child.status}): ${command}\n${child.stderr}`);
  const rssKiB = useTime ? Number(readFileSync(timeFile, "utf8").trim().split(/\s+/).at(-1)) : Number.NaN;
  return { seconds, rssMiB: rssKiB / 1024 };
}

function benchTree(name: TreeName): TreeReport {
  console.error(`bench: generating ${name} at scale ${scale}`);
  const tree = ensureTree(resolve(values.data), name, scale);
  const work = mkdtempSync(join(resolve(values.data), `work-${name}-`));
  const archive = join(work, "input.tar.gz");
  const tools = TOOLS.filter((t) => !t.needs || (t.needs === "pigz" ? pigzOk : have(t.needs)));
  const samples = new Map<string, Sample[]>(tools.map((t) => [t.id, []]));
  const sizes = new Map<string, number>();
  let n = 0;
  const runOnce = (tool: Tool, record: boolean) => {
    const out = join(work, `out-${n++}`);
    if (tool.kind === "unpack") mkdirSync(out);
    tool.prepare?.(tree, out);
    const sample = measure(tool.command(tree, out, archive), work);
    if (tool.kind === "pack") {
      sizes.set(tool.id, statSync(out).size);
      if (tool.id === "strongbox -1" && !existsSync(archive)) execFileSync("cp", [out, archive]);
      rmSync(out);
    }
    if (record) samples.get(tool.id)!.push(sample);
    console.error(
      `bench: ${name} ${tool.id}: ${sample.seconds.toFixed(2)} s, ${sample.rssMiB.toFixed(0)} MiB`,
    );
  };
  try {
    const fast = tools.filter((t) => !t.slow);
    // Warm-up round (page cache, JIT), then interleaved rounds so drift hits every tool alike.
    for (const tool of fast) runOnce(tool, false);
    for (let r = 0; r < runs; r++) for (const tool of fast) runOnce(tool, true);
    for (let r = 0; r < slowRuns; r++) for (const tool of tools.filter((t) => t.slow)) runOnce(tool, true);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const results: ToolResult[] = tools
    .filter((t) => samples.get(t.id)!.length > 0)
    .map((t) => ({ id: t.id, kind: t.kind, samples: samples.get(t.id)!, archiveBytes: sizes.get(t.id) }));
  return { tree: tree.info, results, targets: checkTargets(tree.info, results) };
}

const pigzOk = ensurePigz();
const trees = values.trees.split(",").map((t) => t.trim()) as TreeName[];
for (const t of trees)
  if (!TREE_NAMES.includes(t)) throw new Error(`bench: unknown tree ${t} (${TREE_NAMES.join(", ")})`);
const reports = trees.map(benchTree);
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
const markdown = renderMarkdown(meta, reports);
mkdirSync(values.out, { recursive: true });
const stem = join(values.out, scale === 1 ? "latest" : `latest-scale-${scale}`);
writeFileSync(`${stem}.md`, markdown);
writeFileSync(`${stem}.json`, `${JSON.stringify({ meta, reports }, null, 2)}\n`);
console.log(markdown);
console.error(`bench: wrote ${stem}.md and ${stem}.json`);
