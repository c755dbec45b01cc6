/** Medians, ratios, the targets, and the markdown table the README shows. */
import type { TreeInfo } from "./generate.js";

/** One timed run. */
export interface Sample {
  seconds: number;
  /** User plus system CPU time of the command and its children (NaN when GNU time is missing). */
  cpuSeconds: number;
  /** Peak RSS of the largest process of the command (NaN when GNU time is missing). */
  rssMiB: number;
  /** Bytes moved, when the runner reports them (archives uploaded or migrated): MiB/s is then of these. */
  bytes?: number | undefined;
}

/** Every run of one tool on one tree. */
export interface ToolResult {
  id: string;
  /** `upload` rows send Strongbox's archives to storage; their MiB/s is of the archive bytes sent. */
  kind: "pack" | "unpack" | "upload";
  samples: Sample[];
  archiveBytes?: number | undefined;
}

/** A target of issue 7, checked on one tree. */
export interface TargetCheck {
  target: string;
  ratio: number;
  limit: number;
  met: boolean;
}

/** Everything measured on one tree. */
export interface TreeReport {
  tree: TreeInfo;
  /** When the tree's measurements ended (absent in results written before this field existed). */
  date?: string;
  results: ToolResult[];
  targets: TargetCheck[];
}

/** One `strongbox serve` run under load (see runners/serve-load.mjs). */
export interface ServeResult {
  id: string;
  servers: number;
  backups: number;
  clients: number;
  /** From the first backup asked for until the last one completed. */
  seconds: number;
  /** CPU time of the serve process (all its threads), and of its main thread alone. */
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  /** Peak RSS of the serve process (VmHWM). */
  peakRssMiB: number;
  /** List and details requests answered while the backups ran, and their latency. */
  requests: number;
  latencyMs: Percentiles;
  /** List requests answered before any backup ran (the machine's own latency), and their latency. */
  idleRequests: number;
  idleLatencyMs: Percentiles;
}

/** Latency percentiles, in ms. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** The `serve` rows of one run. */
export interface ServeReport {
  date: string;
  /** Size and files of each server's folder. */
  serverMiB: number;
  serverFiles: number;
  results: ServeResult[];
  targets: TargetCheck[];
}

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Seconds `run` takes (in this process), with what it returned. */
export async function timed<T>(run: () => T | Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await run();
  return [value, (performance.now() - started) / 1000];
}

/** Seconds, three decimals each, space-separated. */
export function formatSeconds(values: readonly number[]): string {
  return values.map((value) => value.toFixed(3)).join(" ");
}

const seconds = (r: ToolResult) => median(r.samples.map((s) => s.seconds));
const cpu = (r: ToolResult) => median(r.samples.map((s) => s.cpuSeconds));
const rss = (r: ToolResult) => Math.max(...r.samples.map((s) => s.rssMiB));

/** Checks the targets that the tools measured on this tree allow. */
export function checkTargets(tree: TreeInfo, results: readonly ToolResult[]): TargetCheck[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  const checks: TargetCheck[] = [];
  const ratio = (ours: string, peer: string, limit: number, target: string) => {
    const a = byId.get(ours);
    const b = byId.get(peer);
    if (!a || !b) return;
    const value = seconds(a) / seconds(b);
    checks.push({ target, ratio: value, limit, met: value <= limit });
  };
  ratio("strongbox -1", "tar | pigz -1", 1, "pack -1 no slower than tar | pigz -1");
  ratio("strongbox -6", "tar | pigz -6", 1, "pack -6 no slower than tar | pigz -6");
  ratio("strongbox unpack", "tar -xzf", 1.3, "unpack within 1.3x of tar -xzf");
  if (tree.name === "many-small")
    ratio("strongbox -0", "tar (no gzip)", 2, "pack -0 at least half tar's files/s");
  for (const r of results.filter((r) => r.id.startsWith("strongbox") && r.kind !== "upload")) {
    const peak = rss(r);
    if (!Number.isNaN(peak))
      checks.push({ target: `${r.id} peak RSS <= 150 MiB`, ratio: peak, limit: 150, met: peak <= 150 });
  }
  return checks;
}

/** Issue 15's targets: the API answers within 100 ms (p99) while 6 backups run; memory stays bounded. */
export function checkServeTargets(results: readonly ServeResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const check = (target: string, value: number, limit: number) =>
    checks.push({ target, ratio: value, limit, met: value <= limit });
  for (const r of results) {
    if (r.backups <= 6) {
      check(`list and details p99 ms, ${r.id}`, r.latencyMs.p99, 100);
      check(`serve peak RSS MiB, ${r.id}`, r.peakRssMiB, 200);
    } else check(`serve peak RSS MiB, ${r.id}`, r.peakRssMiB, 220);
  }
  return checks;
}

/** A table cell: pipes in tool names (`tar | gzip`) would end the cell. */
const cell = (text: string) => text.replaceAll("|", "\\|");

const fmt = (n: number | undefined, digits = 1) =>
  n === undefined || Number.isNaN(n) ? "-" : n.toFixed(digits);

/** The results as markdown: one table per tree, then the targets. */
export function renderMarkdown(
  meta: Record<string, unknown>,
  reports: readonly TreeReport[],
  serve?: ServeReport,
): string {
  const lines = [
    `Benchmark of ${String(meta.date)} — scale ${String(meta.scale)}, ${String(meta.runs)} runs after a warm-up ` +
      `(slow peers: ${String(meta.slowRuns)}), ${String(meta.cpus)} cores, Node ${String(meta.node)}, ${String(meta.tar)}` +
      `${meta.pigz ? "" : ", pigz SKIPPED (not installed)"}.`,
    "",
  ];
  for (const report of reports) {
    const { tree, results } = report;
    // The first Strongbox row of each kind (pack -1, unpack) is the one the other rows are compared with.
    const ours = new Map<ToolResult["kind"], ToolResult>();
    for (const r of results) if (r.id.startsWith("strongbox") && !ours.has(r.kind)) ours.set(r.kind, r);
    const when =
      report.date === undefined ? "" : ` (measured ${report.date.slice(0, 16).replace("T", " ")} UTC)`;
    lines.push(`### ${tree.name}: ${tree.files} files, ${fmt(tree.bytes / 2 ** 20)} MiB${when}`, "");
    lines.push(
      "| tool | median s | CPU s | MiB/s | files/s | peak RSS MiB | archive MiB | Strongbox time / this |",
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of results) {
      const s = seconds(r);
      const mine = ours.get(r.kind);
      const vs = mine && !r.id.startsWith("strongbox") ? fmt(seconds(mine) / s, 2) : "";
      const size = r.archiveBytes === undefined ? "-" : fmt(r.archiveBytes / 2 ** 20);
      const moved = r.samples[0]?.bytes;
      const perSecond = `${fmt((moved ?? tree.bytes) / 2 ** 20 / s)} | ${moved === undefined ? fmt(tree.files / s, 0) : "-"}`;
      lines.push(
        `| ${cell(r.id)} | ${fmt(s, 2)} | ${fmt(cpu(r), 2)} | ${perSecond} | ${fmt(rss(r), 0)} | ${size} | ${vs} |`,
      );
    }
    lines.push(...targetTable(report.targets));
  }
  lines.push(
    "The last column compares the first Strongbox row of the same kind (pack -1, or unpack) with that tool.",
    "MiB/s and files/s are of the tree's files, except on the S3 rows, whose MiB/s is of the archive bytes " +
      "sent. The upload row sends Strongbox's level-1 archive to a local s3rver through the S3 adapter; the " +
      "migrate row makes two backups of the tree with a BackupManager on local disk, then copies them to " +
      "s3rver with `migrateBackups` (sha256 checked on arrival). Both time the transfer alone; their CPU and " +
      "RSS are the Strongbox process's (s3rver runs as a child process).",
  );
  if (serve !== undefined) lines.push("", ...serveSection(serve));
  return `${lines.join("\n")}\n`;
}

function targetTable(targets: readonly TargetCheck[]): string[] {
  const lines = ["", "| target | value | limit | met |", "|---|---:|---:|---|"];
  for (const t of targets)
    lines.push(`| ${cell(t.target)} | ${fmt(t.ratio, 2)} | ${t.limit} | ${t.met ? "yes" : "NO"} |`);
  lines.push("");
  return lines;
}

function serveSection(serve: ServeReport): string[] {
  const lines = [
    `### serve under load: servers of ${serve.serverFiles} files, ${fmt(serve.serverMiB)} MiB ` +
      `(measured ${serve.date.slice(0, 16).replace("T", " ")} UTC)`,
    "",
    "| run | clients | requests | p50 ms | p95 ms | p99 ms | max ms | backups s | CPU s (main thread) | peak RSS MiB |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const latency = ({ p50, p95, p99, max }: Percentiles) =>
    [p50, p95, p99, max].map((ms) => fmt(ms, 0)).join(" | ");
  for (const r of serve.results) {
    lines.push(
      `| ${cell(r.id)}: before, nothing running | ${r.clients} | ${r.idleRequests} | ${latency(r.idleLatencyMs)} | - | - | - |`,
      `| ${cell(r.id)} | ${r.clients} | ${r.requests} | ${latency(r.latencyMs)} | ${fmt(r.seconds, 1)} | ` +
        `${fmt(r.cpuSeconds, 2)} (${fmt(r.mainThreadCpuSeconds, 2)}) | ${fmt(r.peakRssMiB, 0)} |`,
    );
  }
  lines.push(...targetTable(serve.targets));
  lines.push(
    "`strongbox serve` on local disk, one backup per server asked for at once over the API, while the clients " +
      "(one process) poll the list and a backup's details of those servers until every backup has completed; " +
      "latency is of those requests, RSS and CPU of the serve process. The row before each run is the same " +
      "clients polling the lists for 3 s with nothing running: what the machine's own load costs.",
    "",
  );
  return lines;
}
