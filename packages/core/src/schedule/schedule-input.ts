import { randomUUID } from "node:crypto";
import { StrongboxError } from "../errors.js";
import { backupName, ignoredFiles } from "../manager/inputs.js";
import { validateServerId } from "../manager/keys.js";
import { compileCron, resolveTimeZone } from "./cron.js";
import type { RunTimes } from "./run-times.js";
import type { BackupSchedule, ScheduleInfo } from "./types.js";

const MAX_ID_LENGTH = 128;

/** A validated schedule and the compiled expression that computes its run times. */
export interface CompiledSchedule {
  info: ScheduleInfo;
  pattern: RunTimes;
}

/**
 * Checks every field of a schedule up front, so a mistake shows when the schedule is added rather than
 * at 02:00: throws `INVALID_INPUT` with a sentence naming the field.
 */
export function compileSchedule(schedule: BackupSchedule): CompiledSchedule {
  if (typeof schedule !== "object" || schedule === null) {
    throw invalid("A schedule must be an object with at least a server and a cron expression.", {});
  }
  const id = scheduleId(schedule.id);
  const server = validateServerId(schedule.server);
  const timezone = resolveTimeZone(schedule.timezone);
  const { cron, pattern } = compileCron(schedule.cron, timezone);
  const name = schedule.name;
  // A fixed name is checked now; a function's result is checked by the manager at each run.
  if (typeof name !== "function") backupName(name, new Date());
  const locked = schedule.locked ?? false;
  if (typeof locked !== "boolean")
    throw invalid("A schedule's `locked` must be true or false.", { id, locked });
  const info: ScheduleInfo = { id, server, cron, timezone, ignored: ignoredFiles(schedule.ignored), locked };
  if (name !== undefined) info.name = name;
  return { info, pattern };
}

function scheduleId(id: unknown): string {
  if (id === undefined) return randomUUID();
  if (typeof id === "string" && id.trim() !== "" && id.length <= MAX_ID_LENGTH) return id;
  throw invalid(`A schedule id must be a non-blank string of at most ${MAX_ID_LENGTH} characters.`, { id });
}

function invalid(message: string, details: Record<string, unknown>): StrongboxError {
  return new StrongboxError("INVALID_INPUT", message, { details });
}
