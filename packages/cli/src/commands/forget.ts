import type { ForgetResult } from "@strongbox/core";
import {
  type RetentionDecision,
  type RetentionOptions,
  type RetentionPlan,
  retentionPlan,
} from "@strongbox/policy";
import { backupObject } from "../backup-views.js";
import { type Command, expectPositionals, parseCommandArgs, UsageError } from "../command.js";
import { plural } from "../format.js";
import { requireTarget, TARGET_HELP, TARGET_OPTIONS, withManager } from "../manager-from-flags.js";
import { createOutput } from "../output.js";
import { keepRuleHelp, keepRuleOptions, keepRulesFromFlags } from "../retention-flags.js";

const USAGE = `Usage: strongbox forget --storage <URL> --server <ID> --keep-<rule> <n>... [options]

Removes the server's backups that no keep rule keeps, as restic's "forget" does: for the last n hours,
days, ISO weeks (Monday first), months or years that have backups, the newest backup of each is kept.
Locked and running backups, and the newest successful one, always stay; a failed backup stays while it
is newer than the oldest backup kept. Backups are deleted one at a time.

Options:
${TARGET_HELP}
${keepRuleHelp("", 21)}
      --dry-run            Only list each backup with keep or remove and the rule that decided it
      --json               Print {object: "retention_plan", attributes: {dry_run, time_zone, decisions}}
  -h, --help               Show this help`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  ...keepRuleOptions(""),
  "dry-run": { type: "boolean" },
} as const;

/** `strongbox forget --storage URL --server ID --keep-daily 7 ... [--dry-run]`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("forget", args, OPTIONS);
    expectPositionals("forget", positionals, []);
    const target = requireTarget("forget", values);
    const rules = retentionFromFlags(values);
    const dryRun = values["dry-run"] ?? false;
    const output = createOutput(context, { json: values.json ?? false });
    const outcome = await withManager(target, context, {}, async (manager) => {
      // The plan is made inside the manager's record order, on the records it then deletes from.
      let plan: RetentionPlan | undefined;
      const { spared } = await manager.forget(target.server, {
        dryRun,
        signal: context.signal,
        retention(input) {
          plan = retentionPlan(input, rules);
          return plan.remove.map((backup) => backup.uuid);
        },
      });
      if (!plan) throw new Error("forget: the manager did not ask for a retention plan");
      return {
        timeZone: plan.timeZone,
        decisions: plan.decisions.map((decision) => spare(decision, spared)),
      };
    });
    const document = {
      object: "retention_plan",
      attributes: {
        dry_run: dryRun,
        time_zone: outcome.timeZone,
        decisions: outcome.decisions.map(({ backup, action, reasons }) => ({
          action,
          reasons,
          backup: backupObject(backup),
        })),
      },
    };
    await output.result(document, planLines(outcome.timeZone, outcome.decisions, dryRun).join("\n"));
  },
};

/** The retention options the flags name; at least one keep rule, checked before the storage is opened. */
function retentionFromFlags(values: Readonly<Record<string, unknown>>): RetentionOptions {
  const rules = keepRulesFromFlags("forget", values, "");
  // As restic: an empty policy would remove nothing, and most likely a rule was forgotten.
  if (rules) return rules;
  throw new UsageError('forget: name at least one --keep-* rule (see "strongbox forget --help").');
}

/** A decision to remove that the manager did not carry out (the backup is in use), as a keep with the reason. */
function spare(decision: RetentionDecision, spared: ForgetResult["spared"]): RetentionDecision {
  const kept = spared.find(({ backup }) => backup.uuid === decision.backup.uuid);
  return kept ? { ...decision, action: "keep", reasons: [`not deleted: ${kept.reason}`] } : decision;
}

/** `keep    <uuid>  2025-01-15 11:30  "name"  daily, weekly`, one line a backup, newest first. */
function planLines(timeZone: string, decisions: readonly RetentionDecision[], dryRun: boolean): string[] {
  const wallClock = new Intl.DateTimeFormat("sv-SE", { timeZone, dateStyle: "short", timeStyle: "short" });
  const removed = decisions.filter(({ action }) => action === "remove").length;
  const total = plural(decisions.length, "backup");
  const header = `${dryRun ? "Would remove" : "Removed"} ${removed} of ${total} (times in ${timeZone}):`;
  const lines = decisions.map(({ backup, action, reasons }) => {
    const created = Number.isNaN(Date.parse(backup.created_at))
      ? backup.created_at
      : wallClock.format(new Date(backup.created_at));
    return [
      action.padEnd(6),
      backup.uuid,
      created.padEnd(16),
      JSON.stringify(backup.name),
      reasons.join(", "),
    ].join("  ");
  });
  return [header, ...lines];
}
