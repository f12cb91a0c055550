// MedBot's (Python) per-member file formats, line by line: symptoms.md ("- [YYYY-MM-DD HH:MM] text; severity
// ...; note: ..."), medications.md ("- Drug: X" blocks of indented "Key: value" lines under "## Active" /
// "## Stopped Or Historical") and metrics/*.jsonl (one JSON reading per line), as MedBot's skills and
// medical_records.py write them. Tolerant of hand edits; a line it cannot read is reported, never guessed.
import * as path from "node:path";
import { parseRecordDate } from "../time/dates.js";
import type { MemberProfile } from "./archive.js";
import type { FactCategory, MedicationFields, SymptomFields } from "./entries.js";
import { nameKey } from "./members.js";

/** A line (or a whole file, when `line` is null) that could not be read, and why; paths relative to family/. */
export interface SourceProblem {
  file: string;
  line: number | null;
  reason: string;
}

/** A fact as record.md or medications.md gave it (status and provenance are the import's). */
export interface MedbotFact {
  category: FactCategory;
  text: string;
  details: string | null;
}

/** One reading as a metrics/*.jsonl line gave it, for recordMetric. */
export interface MedbotMetric {
  kind: string;
  value: string | number;
  unit?: string;
  at: string;
  note?: string;
  /** "meal_context" / "context" / "meal": for glucose, when it was taken relative to meals. */
  context?: string;
  file: string;
  line: number;
}

/**
 * record.md's weight or height: a value MedBot holds with no measurement date ("Last updated" dates the
 * file, not the weighing). It becomes a reading only when the member has no reading of that value yet.
 */
export interface MedbotProfileReading {
  kind: "weight" | "height";
  value: string;
  file: string;
  line: number;
}

/** A report file under reports/ (MedBot names them <YYYYMMDD>-<slug>.md). */
export interface MedbotReport {
  file: string;
  absolutePath: string;
  title: string;
  reportDate: string | null;
}

/** One member folder, read: everything found in it and every line that could not be read. */
export interface MedbotMember {
  folder: string;
  id: string;
  profile: MemberProfile & { aliases: string[] };
  facts: MedbotFact[];
  symptoms: SymptomFields[];
  medications: MedicationFields[];
  metrics: MedbotMetric[];
  profileReadings: MedbotProfileReading[];
  reports: MedbotReport[];
  /** How many identity fields (name, sex, birth date...) record.md filled in. */
  profileFields: number;
  problems: SourceProblem[];
}

/** What MedBot and people write for "nothing here" ("None recorded yet.", "N/A", "无"). */
export const PLACEHOLDER = /^(none( recorded( yet)?)?|n\/?a|nil|unknown|-+|—|无|暂无|没有|未知|不详)[.。]?$/i;
const LIST_SEPARATOR = /\s*[;；|、]\s*/;
/** "- item" (also *, +, •). */
export const BULLET = /^[-*+•]\s+(.*)$/;
/** "Label: value" (also the full-width colon). */
export const LABELLED = /^([^:：]{1,48})[:：]\s*(.*)$/;

/** "a; b | c" -> ["a", "b", "c"], placeholders ("None recorded yet.") dropped. */
export function splitList(value: string): string[] {
  return value
    .split(LIST_SEPARATOR)
    .map((item) => item.trim().replace(/[.。,;，]+$/, ""))
    .filter((item) => item && !PLACEHOLDER.test(item));
}

// symptoms.md

const STAMPED = /^\[([^\]]+)\]\s*(.*)$/;
const DATED = /^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?)\s*(?:[:：\-—–]\s*)?(.*)$/;
const SEVERITY =
  /^(?:severity|sev|严重程度)\s*[:：=]?\s*(.+)$|^(\d+(?:\.\d+)?\s*\/\s*10|mild|moderate|severe)$/i;

/** The symptom events of a symptoms.md. */
export function parseSymptoms(file: string, lines: string[], problems: SourceProblem[]): SymptomFields[] {
  const found: SymptomFields[] = [];
  let headingDay: string | undefined;
  for (const [index, raw] of lines.entries()) {
    const text = raw.trim();
    if (!text || text.startsWith("<!--")) continue;
    const heading = /^#{1,6}\s+(.*)$/.exec(text);
    if (heading) headingDay = normaliseDay(heading[1]!.trim()) ?? undefined;
    else {
      const symptom = symptomFromLine(BULLET.exec(text)?.[1] ?? text, headingDay);
      if (typeof symptom === "string") problems.push({ file, line: index + 1, reason: symptom });
      else found.push(symptom);
    }
  }
  return found;
}

/** One timeline line as a symptom event, or why it cannot be one. */
function symptomFromLine(content: string, headingDay: string | undefined): SymptomFields | string {
  const stamped = STAMPED.exec(content) ?? DATED.exec(content);
  const when = stamped?.[1] ?? headingDay;
  if (!when) return "no date or time for this symptom";
  const onset = normaliseDateTime(when);
  if (!onset) return `"${when}" is not a real date or time`;
  const body = (stamped ? stamped[2]! : content).replace(/^(patient[- ]reported|reported)\s*[:：]\s*/i, "");
  const [name, ...rest] = body.split(/\s*[;；]\s*/).map((part) => part.trim());
  if (!name) return "no symptom after the date";
  let severity: string | null = null;
  const notes: string[] = [];
  for (const part of rest.filter(Boolean)) {
    const match = SEVERITY.exec(part);
    if (match && severity === null) severity = (match[1] ?? match[2])!.trim();
    else notes.push(part.replace(/^notes?\s*[:：]\s*/i, ""));
  }
  return { name, onset, ended: null, severity, notes: notes.join("; ") || null };
}

// medications.md

type MedKey =
  | keyof MedicationFields
  | "generic"
  | "prescriber"
  | "stopReason"
  | "lastTaken"
  | "note"
  | "ignore";

const MED_LABELS: Record<string, MedKey> = {
  drug: "name",
  name: "name",
  medication: "name",
  药名: "name",
  药品: "name",
  "generic name": "generic",
  通用名: "generic",
  purpose: "reason",
  indication: "reason",
  reason: "reason",
  用途: "reason",
  dose: "dose",
  dosage: "dose",
  剂量: "dose",
  route: "route",
  frequency: "frequency",
  频率: "frequency",
  "scheduled times": "timesOfDay",
  times: "timesOfDay",
  "start date": "startDate",
  started: "startDate",
  "end date": "stopDate",
  "stop date": "stopDate",
  "reason stopped": "stopReason",
  "last taken": "lastTaken",
  prescriber: "prescriber",
  notes: "note",
  note: "note",
  "interaction review": "note",
  "reminder job ids": "ignore",
};

interface MedBlock {
  line: number;
  state: MedicationFields["state"];
  values: Partial<Record<MedKey, string>>;
  extra: string[];
}

/** The medications of a medications.md (prescribers become clinician facts). */
export function parseMedications(file: string, lines: string[], member: MedbotMember): MedicationFields[] {
  let state: MedicationFields["state"] = "active";
  const blocks: MedBlock[] = [];
  for (const [index, raw] of lines.entries()) {
    const text = raw.trim();
    if (!text || text.startsWith("<!--")) continue;
    const heading = /^(#{1,6})\s+(.*)$/.exec(text);
    if (heading) {
      if (/stop|histor|past|former|停/i.test(heading[2]!)) state = "stopped";
      else if (heading[1] !== "#") state = "active";
      continue;
    }
    const bullet = BULLET.exec(text);
    const content = bullet?.[1] ?? text;
    const labelled = LABELLED.exec(content);
    const key = labelled ? MED_LABELS[nameKey(labelled[1]!)] : undefined;
    const open = blocks.at(-1);
    if (key === "name" || (bullet && !key)) {
      const name = key === "name" ? labelled![2]!.trim() : content;
      blocks.push({ line: index + 1, state, values: { name }, extra: [] });
    } else if (open && key) {
      const value = labelled![2]!.trim();
      // Notes and the interaction review both land in the notes; neither may hide the other.
      open.values[key] = key === "note" && open.values.note ? `${open.values.note}; ${value}` : value;
    } else if (open) open.extra.push(content);
    else member.problems.push({ file, line: index + 1, reason: "not part of a medication entry" });
  }
  const meds: MedicationFields[] = [];
  for (const block of blocks) {
    const med = finishMedication(block, file, member);
    if (med) meds.push(med);
  }
  return meds;
}

function finishMedication(block: MedBlock, file: string, member: MedbotMember): MedicationFields | undefined {
  const v = Object.fromEntries(
    Object.entries(block.values).filter(([, value]) => value && !PLACEHOLDER.test(value)),
  ) as Partial<Record<MedKey, string>>;
  if (!v.name) {
    const filled =
      Object.values(v).some((value) => !/^patient[- ]reported$/i.test(value!)) || block.extra.length > 0;
    if (filled) member.problems.push({ file, line: block.line, reason: "a medication without a drug name" });
    return undefined;
  }
  const base =
    v.dose || v.frequency
      ? { ...emptyMedication(v.name, block.state) }
      : medicationFromText(v.name, block.state);
  const day = (key: "startDate" | "stopDate" | "lastTaken") => {
    const text = v[key];
    if (!text) return null;
    const parsed = normaliseDay(text);
    if (!parsed)
      member.problems.push({
        file,
        line: block.line,
        reason: `${key} "${text}" of ${v.name} is not a real date`,
      });
    return parsed;
  };
  const times = (v.timesOfDay ?? "").split(/[\s,;，、]+/).filter(Boolean);
  const clock = times
    .map((t) => /^(\d{1,2})[:：](\d{2})$/.exec(t))
    .map((m) => m && `${m[1]!.padStart(2, "0")}:${m[2]}`);
  const validTimes = clock.every((t) => t && t < "24:00") ? (clock as string[]) : [];
  const frequency = [v.frequency, validTimes.length || !v.timesOfDay ? undefined : `at ${v.timesOfDay}`];
  if (v.prescriber)
    member.facts.push({ category: "clinician", text: v.prescriber, details: `prescribed ${v.name}` });
  const notes = [v.note, ...block.extra]
    .flatMap((note) => note?.split(/\s*;\s*/) ?? [])
    .filter((note) => note && !/^patient[- ]reported$/i.test(note))
    .join("; ");
  return {
    ...base,
    name: v.generic && nameKey(v.generic) !== nameKey(base.name) ? `${base.name} (${v.generic})` : base.name,
    dose: v.dose ?? base.dose,
    route: v.route ?? null,
    frequency: frequency.filter(Boolean).join(", ") || base.frequency,
    timesOfDay: validTimes,
    startDate: day("startDate"),
    stopDate: day("stopDate") ?? day("lastTaken"),
    reason:
      [v.reason, notes && `note: ${notes}`, v.stopReason && `stopped: ${v.stopReason}`]
        .filter(Boolean)
        .join("; ") || null,
  };
}

function emptyMedication(name: string, state: MedicationFields["state"]): MedicationFields {
  return {
    name,
    dose: null,
    route: null,
    frequency: null,
    timesOfDay: [],
    timezone: null,
    startDate: null,
    stopDate: null,
    reason: null,
    state,
  };
}

/** "amlodipine 5 mg once daily" -> name, dose and frequency. */
export function medicationFromText(text: string, state: MedicationFields["state"]): MedicationFields {
  const dose =
    /(\d+(?:[.,]\d+)?\s?(?:mg|mcg|µg|μg|g|ml|mL|iu|IU|units?|tablets?|tabs?|puffs?|drops?|片|粒|毫克))/.exec(
      text,
    );
  if (!dose) return emptyMedication(text, state);
  const name = text.slice(0, dose.index).replace(/[\s,，]+$/, "");
  const frequency = text.slice(dose.index + dose[0].length).replace(/^[\s,，]+/, "");
  return { ...emptyMedication(name || text, state), dose: dose[1]!, frequency: frequency || null };
}

// metrics/*.jsonl

/** The readings of a metrics/<kind>.jsonl file. */
export function parseMetricLines(file: string, lines: string[], problems: SourceProblem[]): MedbotMetric[] {
  const stem = path.basename(file, ".jsonl");
  const found: MedbotMetric[] = [];
  for (const [index, raw] of lines.entries()) {
    if (!raw.trim()) continue;
    const reading = metricFromLine(raw.trim(), stem);
    if (typeof reading === "string") problems.push({ file, line: index + 1, reason: reading });
    else found.push({ ...reading, file, line: index + 1 });
  }
  return found;
}

/** One JSONL line as a reading (kind from "type"/"metric"/"kind" or the file name), or why it cannot be one. */
function metricFromLine(text: string, stem: string): Omit<MedbotMetric, "file" | "line"> | string {
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return "not valid JSON";
  }
  if (!entry || typeof entry !== "object" || Array.isArray(entry)) return "not a JSON object";
  const e = entry as Record<string, unknown>;
  const str = (key: string) => (typeof e[key] === "string" && (e[key] as string).trim()) || undefined;
  let value: string | number;
  if (e.systolic !== undefined || e.diastolic !== undefined) {
    if (!isNumeric(e.systolic) || !isNumeric(e.diastolic))
      return "blood pressure needs numeric systolic and diastolic";
    value = `${e.systolic}/${e.diastolic}${isNumeric(e.pulse) ? `/${e.pulse}` : ""}`;
  } else if (isNumeric(e.value)) value = e.value as string | number;
  else return e.value === undefined ? "no value" : `value ${JSON.stringify(e.value)} is not a number`;
  const time = e.timestamp ?? e.time ?? e.datetime ?? e.measured_at ?? e.at ?? e.date;
  const at =
    typeof time === "number"
      ? epochToIso(time)
      : typeof time === "string"
        ? (normaliseDateTime(time) ?? time.trim())
        : undefined;
  if (!at) return "no time (timestamp) for this reading";
  const note = ["notes", "note", "position", "source"].map(str).filter(Boolean);
  return {
    kind: str("type") ?? str("metric") ?? str("kind") ?? stem,
    value,
    unit: str("unit"),
    at,
    note: note.join("; ") || undefined,
    context: str("meal_context") ?? str("context") ?? str("meal"),
  };
}

function isNumeric(value: unknown): boolean {
  return (
    (typeof value === "number" && Number.isFinite(value)) ||
    (typeof value === "string" && /^\s*[-+]?\d+([.,]\d+)?\s*$/.test(value))
  );
}

function epochToIso(value: number): string | undefined {
  const date = new Date(value < 1e12 ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function normaliseDay(text: string): string | null {
  const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(text.trim());
  if (!m) return null;
  try {
    return parseRecordDate(`${m[1]}-${m[2]!.padStart(2, "0")}-${m[3]!.padStart(2, "0")}`, "date");
  } catch {
    return null;
  }
}

/** A day or "YYYY-MM-DD HH:MM" (as MedBot writes them) as the archive stores it, if it is real. */
export function normaliseDateTime(text: string): string | null {
  const m = /^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  const day = m && normaliseDay(m[1]!);
  if (!m || !day) return null;
  if (m[2] === undefined) return day;
  const time = `${m[2].padStart(2, "0")}:${m[3]}${m[4] ? `:${m[4]}` : ""}`;
  try {
    return parseRecordDate(`${day}T${time}`, "time");
  } catch {
    return null;
  }
}
