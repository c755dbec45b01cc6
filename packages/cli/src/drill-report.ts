import { type DrillDifference, type DrillReport, formatBytes } from "@strongbox/core";
import { plural } from "./format.js";
import { quoteName } from "./tar-quote.js";

/** A drill's report for a person: one line of counts, then one line per difference. */
export function describeDrill(report: DrillReport): string {
  const counts = [
    `${plural(report.files, "file")} (${formatBytes(report.bytes)})`,
    plural(report.directories, "folder"),
    plural(report.links, "link"),
  ];
  if (report.skipped > 0) counts.push(`${report.skipped} skipped (fifos, devices)`);
  const head = `Drill of backup ${report.backup} ${JSON.stringify(report.name)}: ${counts.join(", ")}`;
  if (report.passed) return `${head}; all restored as listed.`;
  const more =
    report.moreDifferences > 0 ? [`... and ${plural(report.moreDifferences, "more difference")}.`] : [];
  return [`${head}; restored differently:`, ...report.differences.map(describeDifference), ...more].join(
    "\n",
  );
}

const PROBLEMS: Record<DrillDifference["problem"], string> = {
  missing: "listed but not restored",
  unexpected: "restored but not listed",
  type: "restored as another kind",
  size: "restored with another size",
  content: "restored with other content",
  link: "restored with another link target",
};

function describeDifference(difference: DrillDifference): string {
  const detail =
    difference.expected === undefined ? "" : ` (expected ${difference.expected}, found ${difference.actual})`;
  return `  ${quoteName(difference.path)}: ${PROBLEMS[difference.problem]}${detail}`;
}

/** How many differences a report counts in all. */
export function differenceCount(report: DrillReport): number {
  return report.differences.length + report.moreDifferences;
}
