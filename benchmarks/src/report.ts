/** Medians, ratios, the targets, and the markdown table the README shows. */
import type { TreeInfo } from "./generate.js";

/** One timed run. */
export interface Sample {
  seconds: number;
  /** Peak RSS of the largest process of the command (NaN when GNU time is missing). */
  rssMiB: number;
}

/** Every run of one tool on one tree. */
export interface ToolResult {
  id: string;
  kind: "pack" | "unpack";
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
  results: ToolResult[];
  targets: TargetCheck[];
}

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const seconds = (r: ToolResult) => median(r.samples.map((s) => s.seconds));
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
  for (const r of results.filter((r) => r.id.startsWith("strongbox"))) {
    const peak = rss(r);
    if (!Number.isNaN(peak))
      checks.push({ target: `${r.id} peak RSS <= 150 MiB`, ratio: peak, limit: 150, met: peak <= 150 });
  }
  return checks;
}

const fmt = (n: number | undefined, digits = 1) =>
  n === undefined || Number.isNaN(n) ? "-" : n.toFixed(digits);

/** The results as markdown: one table per tree, then the targets. */
export function renderMarkdown(meta: Record<string, unknown>, reports: readonly TreeReport[]): string {
  const lines = [
    `Benchmark of ${String(meta.date)} — scale ${String(meta.scale)}, ${String(meta.runs)} runs after a warm-up ` +
      `(slow peers: ${String(meta.slowRuns)}), ${String(meta.cpus)} cores, Node ${String(meta.node)}, ${String(meta.tar)}` +
      `${meta.pigz ? "" : ", pigz SKIPPED (not installed)"}.`,
    "",
  ];
  for (const report of reports) {
    const { tree, results } = report;
    const ours = new Map(results.filter((r) => r.id.startsWith("strongbox")).map((r) => [r.kind, r]));
    lines.push(`### ${tree.name}: ${tree.files} files, ${fmt(tree.bytes / 2 ** 20)} MiB`, "");
    lines.push("| tool | median s | MiB/s | files/s | peak RSS MiB | archive MiB | Strongbox time / this |");
    lines.push("|---|---:|---:|---:|---:|---:|---:|");
    for (const r of results) {
      const s = seconds(r);
      const mine = ours.get(r.kind);
      const vs = mine && !r.id.startsWith("strongbox") ? fmt(seconds(mine) / s, 2) : "";
      const size = r.archiveBytes === undefined ? "-" : fmt(r.archiveBytes / 2 ** 20);
      lines.push(
        `| ${r.id} | ${fmt(s, 2)} | ${fmt(tree.bytes / 2 ** 20 / s)} | ${fmt(tree.files / s, 0)} | ${fmt(rss(r), 0)} | ${size} | ${vs} |`,
      );
    }
    lines.push("", "| target | value | limit | met |", "|---|---:|---:|---|");
    for (const t of report.targets)
      lines.push(`| ${t.target} | ${fmt(t.ratio, 2)} | ${t.limit} | ${t.met ? "yes" : "NO"} |`);
    lines.push("");
  }
  lines.push(
    "The last column compares the first Strongbox row of the same kind (pack -1, or unpack) with that tool.",
  );
  return `${lines.join("\n")}\n`;
}
