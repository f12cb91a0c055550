// When a job runs: a one-off time (`at`), a fixed interval (`every`) or a cron expression (croner), in an
// IANA timezone. Croner moves a time that a spring-forward skips to the first valid minute after the gap and
// runs a time that a fall-back repeats once, so a daily 02:30 job fires exactly once on both DST days.
import { Cron } from "croner";
import { isTimeZone, wallClock } from "../time/dates.js";

export type ScheduleKind = "at" | "every" | "cron";

/** A validated schedule as stored in cron_jobs (kind, spec, timezone). */
export interface Schedule {
  kind: ScheduleKind;
  /** at: ISO UTC instant; every: "30m" / "2h" / "3d"; cron: the five fields. */
  spec: string;
  timezone: string;
}

/** What a person or the model asks for: exactly one of at / every / cron. */
export interface ScheduleInput {
  at?: string;
  every?: string;
  cron?: string;
}

/** Bad schedule input; the message names the field and gives an example. */
export class ScheduleError extends Error {}

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const UNIT_MS = { m: MINUTE_MS, h: 60 * MINUTE_MS, d: DAY_MS } as const;
const EVERY = /^(\d+)\s*([mhd])$/;
const AT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
/** Occurrences listed per window at most: a long downtime records the latest misses, not millions. */
export const MAX_OCCURRENCES = 50;

/** Validates one schedule; `now` refuses an `at` in the past. */
export function parseSchedule(input: ScheduleInput, timezone: string, now: Date): Schedule {
  if (!isTimeZone(timezone)) {
    throw new ScheduleError(`timezone "${timezone}" is not an IANA timezone; use one like Europe/Berlin.`);
  }
  const given = (["at", "every", "cron"] as const).filter((field) => input[field]?.trim());
  if (given.length !== 1) {
    throw new ScheduleError(
      `give exactly one of at (like 2026-06-03T08:30), every (like 2h) or cron (like "0 8 * * *"); got ${given.length === 0 ? "none" : given.join(" and ")}.`,
    );
  }
  const kind = given[0]!;
  const text = input[kind]!.trim();
  if (kind === "at") {
    const instant = parseAt(text, timezone);
    if (instant.getTime() <= now.getTime()) {
      throw new ScheduleError(
        `at "${text}" is in the past (it is now ${formatInZone(now, timezone)} ${timezone}); give a future time.`,
      );
    }
    return { kind, spec: instant.toISOString(), timezone };
  }
  if (kind === "every") {
    everyMs(text);
    return { kind, spec: text.replace(/\s+/g, ""), timezone };
  }
  const spec = text.replace(/\s+/g, " ");
  let cron: Cron;
  try {
    cron = new Cron(spec, { timezone, mode: "5-part" });
  } catch (error) {
    throw new ScheduleError(
      `cron "${text}" is not a valid five-field expression (minute hour day month weekday), like "0 8 * * 1" for Mondays at 08:00: ${(error as Error).message.replace(/^CronPattern: /, "")}.`,
    );
  }
  if (!cron.nextRun(now)) throw new ScheduleError(`cron "${text}" never runs (like 30 February).`);
  return { kind, spec, timezone };
}

/** The interval of an `every` spec in ms ("30m", "2h", "3d"; at least one minute). */
export function everyMs(spec: string): number {
  const match = EVERY.exec(spec.trim());
  const amount = Number(match?.[1]);
  if (!match || amount < 1) {
    throw new ScheduleError(`every "${spec}" must be a whole number of m, h or d, like 30m, 2h or 3d.`);
  }
  return amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** The instant of an ISO date-time; without an offset it is wall-clock time in `timezone`. */
export function parseAt(text: string, timezone: string): Date {
  const m = AT.exec(text.trim());
  const n = (i: number) => Number(m?.[i] ?? 0);
  const wall = m
    ? Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6), Number((m[7] ?? "0").padEnd(3, "0")))
    : Number.NaN;
  const real =
    m && new Date(wall).toISOString().slice(0, 10) === `${m[1]}-${m[2]}-${m[3]}` && n(4) < 24 && n(5) < 60;
  if (!m || !real || n(6) >= 60) {
    throw new ScheduleError(
      `at "${text}" must be a real date-time like 2026-06-03T08:30 (or with Z / +02:00).`,
    );
  }
  const offset = m[8]?.toUpperCase();
  if (!offset) return new Date(firstPassInstant(wall, timezone));
  const minutes =
    offset === "Z"
      ? 0
      : (offset[0] === "-" ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(-2)));
  return new Date(wall - minutes * MINUTE_MS);
}

/**
 * The first occurrence strictly after `after`. `anchor` is when the job was made: an `every` job runs at
 * anchor + k·interval, and no occurrence lies before it.
 */
export function nextOccurrence(schedule: Schedule, after: Date, anchor: Date): Date | undefined {
  const from = Math.max(after.getTime(), anchor.getTime() - 1);
  if (schedule.kind === "at") {
    const at = Date.parse(schedule.spec);
    return at > from ? new Date(at) : undefined;
  }
  if (schedule.kind === "every") {
    const step = everyMs(schedule.spec);
    const k = Math.max(1, Math.floor((from - anchor.getTime()) / step) + 1);
    return new Date(anchor.getTime() + k * step);
  }
  return cronOf(schedule).nextRun(new Date(from)) ?? undefined;
}

/** The latest occurrences (at most `limit`) with from < t <= to and t >= anchor, oldest first. */
export function occurrencesBetween(
  schedule: Schedule,
  from: Date,
  to: Date,
  anchor: Date,
  limit = MAX_OCCURRENCES,
): Date[] {
  const lower = Math.max(from.getTime(), anchor.getTime() - 1);
  const upper = to.getTime();
  if (upper <= lower) return [];
  if (schedule.kind === "at") {
    const at = Date.parse(schedule.spec);
    return at > lower && at <= upper ? [new Date(at)] : [];
  }
  if (schedule.kind === "every") {
    const step = everyMs(schedule.spec);
    const base = anchor.getTime();
    const last = Math.floor((upper - base) / step);
    const first = Math.max(1, Math.floor((lower - base) / step) + 1, last - limit + 1);
    const times: Date[] = [];
    for (let k = first; k <= last; k++) times.push(new Date(base + k * step));
    return times;
  }
  // previousRuns counts back from the reference; one second past `to` includes a run exactly at `to`.
  return cronOf(schedule)
    .previousRuns(limit, new Date(upper + 1000))
    .filter((t) => t.getTime() > lower && t.getTime() <= upper)
    .reverse();
}

/** A schedule in words for lists: "at 2026-06-03 08:30", "every 2h", "cron 0 8 * * *" (with its zone). */
export function describeSchedule(schedule: Schedule): string {
  const what =
    schedule.kind === "at"
      ? `at ${formatInZone(new Date(schedule.spec), schedule.timezone)}`
      : `${schedule.kind} ${schedule.spec}`;
  return `${what} (${schedule.timezone})`;
}

/** "2026-06-03 08:30" as the wall clock of `timezone` shows `instant`. */
export function formatInZone(instant: Date, timezone: string): string {
  return new Date(wallClock(instant.getTime(), timezone)).toISOString().slice(0, 16).replace("T", " ");
}

function cronOf(schedule: Schedule): Cron {
  return new Cron(schedule.spec, { timezone: schedule.timezone, mode: "5-part" });
}

/**
 * The instant at which `timezone` shows the wall clock `wall`: in a repeated (fall-back) hour its first pass,
 * as croner does; in a spring-forward gap, the wall time read with the offset before the gap.
 */
function firstPassInstant(wall: number, timezone: string): number {
  const offsetAt = (instant: number) => wallClock(instant, timezone) - instant;
  const before = wall - offsetAt(wall - DAY_MS);
  const after = wall - offsetAt(wall + DAY_MS);
  const fits = [before, after].filter((instant) => wallClock(instant, timezone) === wall);
  return fits.length > 0 ? Math.min(...fits) : before;
}
