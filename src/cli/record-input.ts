// What `medbot family record` reads from the command line, checked before anything is stored: which flags
// fit which kind and action, entry ids like medication:5, "since" as a year, month or day, times of day,
// and dates in the member's own calendar. Each refusal names the flag or id at fault.

import type { EntryTable } from "../archive/entries.js";
import { parseRecordDate } from "../time/dates.js";
import { CliFailure } from "./startup.js";

/** The kinds of entry the owner keeps from the terminal, and the archive table each lives in. */
export const RECORD_KINDS = {
  allergy: "facts",
  condition: "facts",
  medication: "medications",
  symptom: "symptoms",
} as const satisfies Record<string, EntryTable>;
export type RecordKind = keyof typeof RECORD_KINDS;

export interface RecordFlags {
  name?: string;
  details?: string;
  since?: string;
  food?: boolean;
  dose?: string;
  route?: string;
  frequency?: string;
  times?: string;
  start?: string;
  reason?: string;
  date?: string;
  onset?: string;
  ended?: string;
  severity?: string;
  notes?: string;
  at?: string;
}
export type RecordFlag = keyof RecordFlags;

const FACT_FIELDS: RecordFlag[] = ["details", "since"];
const MEDICATION_FIELDS: RecordFlag[] = ["dose", "route", "frequency", "times", "start", "reason"];
const SYMPTOM_FIELDS: RecordFlag[] = ["onset", "ended", "severity", "notes"];

/** Each kind's actions and the flags each action takes. */
export const RECORD_ACTIONS: Record<RecordKind, Record<string, RecordFlag[]>> = {
  allergy: { add: [...FACT_FIELDS, "food"], correct: ["name", ...FACT_FIELDS], remove: ["reason"] },
  condition: { add: FACT_FIELDS, correct: ["name", ...FACT_FIELDS], remove: ["reason"] },
  medication: {
    add: MEDICATION_FIELDS,
    correct: ["name", ...MEDICATION_FIELDS],
    stop: ["date", "reason"],
    remove: ["reason"],
  },
  symptom: { add: SYMPTOM_FIELDS, correct: ["name", ...SYMPTOM_FIELDS], end: ["at"], remove: ["reason"] },
};

const FLAG_NAMES = new Set<string>([
  ...Object.values(RECORD_ACTIONS).flatMap((a) => Object.values(a).flat()),
]);
const ENTRY_REF = /^(?:([a-z]+)[:#])?(\d+)$/i;
const TIME_OF_DAY = /^([01]\d|2[0-3]):[0-5]\d$/;

/** The kind named on the command line, or a failure listing the kinds. */
export function recordKind(text: string): RecordKind {
  const kind = text.trim().toLowerCase();
  if (kind in RECORD_KINDS) return kind as RecordKind;
  throw new CliFailure(`Unknown kind "${text}": use allergy, condition, medication or symptom.`);
}

/** Refuses an action the kind does not have, or a flag the action does not take. */
export function checkAction(kind: RecordKind, action: string, flags: RecordFlags): void {
  const actions = RECORD_ACTIONS[kind];
  const allowed = actions[action];
  if (!allowed || !Object.hasOwn(actions, action)) {
    const names = Object.keys(actions);
    throw new CliFailure(
      `"${action}" is not an action for ${kind === "allergy" ? "an" : "a"} ${kind}: use ${names.slice(0, -1).join(", ")} or ${names.at(-1)}.`,
    );
  }
  for (const flag of Object.keys(flags) as RecordFlag[]) {
    if (FLAG_NAMES.has(flag) && flags[flag] !== undefined && !allowed.includes(flag)) {
      throw new CliFailure(`--${flag} does not apply to ${kind} ${action}.`);
    }
  }
}

/** The id in "medication:5" (or "5"); refuses an id of another kind of entry. */
export function entryId(text: string, noun: string): number {
  const match = ENTRY_REF.exec(text.trim());
  if (!match)
    throw new CliFailure(`"${text}" is not a ${noun} id: use one like ${noun}:5 (see medbot family show).`);
  const given = match[1]?.toLowerCase();
  if (given && given !== noun) {
    throw new CliFailure(`"${text}" is a ${given} id, not a ${noun} id (see medbot family show).`);
  }
  return Number(match[2]);
}

/** A flag's text, trimmed; an empty value means "clear it" (null), except where a value is required. */
export function optionalText(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  return value.trim() || null;
}

/** "Since" of a fact: a year (2019), a month (2019-04) or a day, not after today. */
export function sinceDate(text: string, today: string): string {
  const value = text.trim();
  const month = /^(\d{4})(?:-(\d{2}))?$/.exec(value);
  let since: string;
  if (month) {
    if (month[2] !== undefined && (Number(month[2]) < 1 || Number(month[2]) > 12)) {
      throw new CliFailure(`--since "${text}" is not a real month.`);
    }
    since = value;
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    since = parseRecordDate(value, "--since");
  } else {
    throw new CliFailure(`--since "${text}" must be a year (2019), a month (2019-04) or a day (2019-04-12).`);
  }
  if (since > today.slice(0, since.length))
    throw new CliFailure(`--since ${since} is in the future (today is ${today}).`);
  return since;
}

/** A day or date-time from a flag, checked to be real (and not after today when `notAfter` is given). */
export function recordDate(text: string, flag: string, notAfter?: string): string {
  const value = parseRecordDate(text, `--${flag}`);
  if (notAfter && value.slice(0, 10) > notAfter) {
    throw new CliFailure(`--${flag} ${value} is in the future (today is ${notAfter}).`);
  }
  return value;
}

/** "08:00,20:00" as times of day, sorted and without repeats. */
export function timesOfDay(text: string): string[] {
  const times = text.split(/[\s,]+/).filter(Boolean);
  if (times.length === 0 || !times.every((t) => TIME_OF_DAY.test(t))) {
    throw new CliFailure(`--times "${text}" must be times of day like 08:00,20:00 (24-hour clock).`);
  }
  return [...new Set(times)].sort();
}

/** True when `later` is before `earlier`, comparing a day with a date-time by the day alone. */
export function isBefore(later: string, earlier: string): boolean {
  const n = Math.min(later.length, earlier.length, later.length === 10 || earlier.length === 10 ? 10 : 99);
  return later.slice(0, n) < earlier.slice(0, n);
}
