import { assertValidRetention, type RetentionOptions } from "@strongbox/policy";
import { UsageError } from "./command.js";
import { parseWholeNumber } from "./manager-from-flags.js";

/** Each count flag (after its prefix) and the retention option it sets. */
const COUNT_FLAGS = {
  "keep-last": "keepLast",
  "keep-hourly": "keepHourly",
  "keep-daily": "keepDaily",
  "keep-weekly": "keepWeekly",
  "keep-monthly": "keepMonthly",
  "keep-yearly": "keepYearly",
} as const;

const OTHER_FLAGS = ["keep-within", "time-zone"] as const;

/** The `parseArgs` options of the keep rules, each name after `prefix` (`""` or `"replica-"`). */
export function keepRuleOptions(prefix: string): Record<string, { type: "string" }> {
  const names = [...Object.keys(COUNT_FLAGS), ...OTHER_FLAGS];
  return Object.fromEntries(names.map((name) => [`${prefix}${name}`, { type: "string" as const }]));
}

/** The help lines of the keep rules, each flag after `prefix`, descriptions from column `6 + width`. */
export function keepRuleHelp(prefix: string, width: number): string {
  const flag = (name: string, argument: string) => `--${prefix}${name} ${argument}`.padEnd(width - 1);
  return [
    `${flag("keep-last", "<n>")} Keep the newest n successful backups`,
    `${flag("keep-hourly", "<n>")} Keep the newest backup of each of the last n hours that have backups`,
    `${flag("keep-daily", "<n>")} ... of each of the last n days`,
    `${flag("keep-weekly", "<n>")} ... of each of the last n weeks`,
    `${flag("keep-monthly", "<n>")} ... of each of the last n months`,
    `${flag("keep-yearly", "<n>")} ... of each of the last n years`,
    `${flag("keep-within", "<d>")} Keep every backup made within d before the newest one: 1y5m7d2h`,
    `${"".padEnd(width)}(years, months, days, hours)`,
    `${flag("time-zone", "<zone>")} IANA zone of the hours, days, ... (default: this machine's, as restic)`,
  ]
    .map((line) => `      ${line}`)
    .join("\n");
}

/**
 * The retention options the `prefix`ed flags name, checked before any storage is opened; `undefined` when
 * no keep rule is given (a time zone alone is no rule).
 * @throws UsageError for a count that is no whole number of at least 1, a bad duration or time zone.
 */
export function keepRulesFromFlags(
  command: string,
  values: Readonly<Record<string, unknown>>,
  prefix: string,
): RetentionOptions | undefined {
  const text = (name: string) => values[`${prefix}${name}`] as string | undefined;
  const rules: RetentionOptions = {};
  for (const [name, option] of Object.entries(COUNT_FLAGS)) {
    const count = parseWholeNumber(command, `${prefix}${name}`, text(name));
    if (count !== undefined) Object.assign(rules, { [option]: count });
  }
  const within = text("keep-within");
  if (within !== undefined) rules.keepWithin = within;
  if (Object.keys(rules).length === 0) return undefined;
  const zone = text("time-zone");
  if (zone !== undefined) rules.timeZone = zone;
  try {
    assertValidRetention(rules);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const message = error.message
      .replace("retention.keepWithin", `--${prefix}keep-within`)
      .replace("retention.timeZone", `--${prefix}time-zone`);
    throw new UsageError(`${command}: ${message}`);
  }
  return rules;
}
