import { StrongboxError } from "../errors.js";
import { cronRunTimes, type RunTimes } from "./run-times.js";

const NICKNAME = /^@(yearly|annually|monthly|weekly|daily|hourly)$/i;
const FIELDS = "minute hour day-of-month month day-of-week";

/**
 * The canonical IANA name of a time zone (`europe/berlin` -> `Europe/Berlin`); the host's zone when
 * `timezone` is undefined. Throws `INVALID_INPUT` for a zone the runtime does not know.
 */
export function resolveTimeZone(timezone: unknown): string {
  if (timezone === undefined) return new Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    if (typeof timezone !== "string" || timezone === "") throw new RangeError("not a name");
    return new Intl.DateTimeFormat(undefined, { timeZone: timezone }).resolvedOptions().timeZone;
  } catch (error) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The time zone ${JSON.stringify(timezone)} is not known; use an IANA name such as "Europe/Berlin" or "UTC".`,
      { cause: error, details: { timezone } },
    );
  }
}

/**
 * Compiles a five-field cron expression (or a nickname such as `@daily`) read in `timezone`, which must be
 * resolved already. The result only computes run times: it arms no timer. Throws `INVALID_INPUT` for an
 * expression croner rejects, one with seconds, or one that never matches a date.
 */
export function compileCron(expression: unknown, timezone: string): { cron: string; pattern: RunTimes } {
  if (typeof expression !== "string") throw invalidCron(expression, "it is not a string");
  const cron = expression.trim().split(/\s+/).join(" ");
  const fields = cron.split(" ").length;
  // Croner would also take six fields (seconds) or a date for a one-off run: neither is a backup schedule.
  if (fields !== 5 && !NICKNAME.test(cron)) {
    throw invalidCron(expression, `it has ${fields} field${fields === 1 ? "" : "s"}`);
  }
  let pattern: RunTimes;
  try {
    pattern = cronRunTimes(cron, timezone);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, "") : String(error);
    throw invalidCron(expression, reason, error);
  }
  if (pattern.nextRun(new Date()) === null) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `The cron expression "${cron}" never matches a date; check its day-of-month and month fields.`,
      { details: { cron } },
    );
  }
  return { cron, pattern };
}

function invalidCron(expression: unknown, reason: string, cause?: unknown): StrongboxError {
  return new StrongboxError(
    "INVALID_INPUT",
    `The cron expression ${JSON.stringify(expression)} is not valid (${reason}); write five fields, ${FIELDS}, such as "0 2 * * *" for 02:00 every day.`,
    { cause, details: { cron: expression } },
  );
}
