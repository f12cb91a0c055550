// How a member's record reads as text: one line per fact, medication, symptom, reading or report, shared by
// the Markdown views and the doctor exports so both say the same thing the same way.
import type { Db } from "../storage/db.js";
import { localDateTime } from "../time/dates.js";
import { type Adherence, adherenceText } from "./doses.js";
import type { Entry, FactCategory, ReviewStatus } from "./entries.js";
import type { Member } from "./members.js";
import { type ShownReading, shownReading, shownStatistic, shownSummaryUnit } from "./metric-units.js";
import { kindOf, type MetricSummary, zoneOf } from "./metrics.js";
import { listReports } from "./reports.js";

/** A report as the record shows it (the reports table, removed ones left out). */
export interface ReportSummary {
  id: number;
  title: string;
  reportDate: string | null;
  summary: string;
  keyValues: string[];
  status: ReviewStatus;
}

/** A member's current record, read once and shown by the views and exports. */
export interface MemberRecord {
  member: Member;
  timeZone: string;
  /** The member's local date (YYYY-MM-DD) and time of rendering. */
  today: string;
  generatedAt: string;
  facts: Entry<"facts">[];
  /** Newest first. */
  symptoms: Entry<"symptoms">[];
  medications: Entry<"medications">[];
  metrics: MetricSummary[];
  /** Adherence over the last days of each active medication, by its id. */
  adherence: Map<number, Adherence>;
  reports: ReportSummary[];
  /** Readings not yet confirmed, counted per kind (listing thousands would bury the rest). */
  pendingMetrics: { kind: string; label: string; count: number }[];
}

/** Fact categories shown after allergies, in the order a clinician reads them. */
export const CLINICAL_FACT_ORDER = [
  "condition",
  "contraindication",
  "surgery",
  "hospitalisation",
  "family_history",
  "lifestyle",
  "concern",
  "red_flag",
  "monitoring_goal",
  "clinician",
] as const;

export const CATEGORY_TITLE: Record<FactCategory, string> = {
  condition: "Conditions",
  surgery: "Past surgeries",
  hospitalisation: "Hospitalisations",
  family_history: "Family history",
  lifestyle: "Lifestyle",
  drug_allergy: "Drug allergies",
  food_allergy: "Food allergies",
  contraindication: "Contraindications",
  concern: "Active concerns",
  clinician: "Clinicians",
  monitoring_goal: "Monitoring goals",
  red_flag: "Red flags",
  open_question: "Open questions",
};

export const STATUS_LABEL: Record<ReviewStatus, string> = {
  confirmed: "confirmed",
  reported: "reported",
  unreviewed: "auto-captured, unreviewed",
};

/** Symptom events listed one by one under "Not yet reviewed"; older ones are counted. */
const PENDING_SYMPTOM_LIMIT = 20;

/** Text from the record made safe for one Markdown line (no line breaks, no markup of its own). */
export function inline(text: string): string {
  return text
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[\\`*_[\]<>|]/g, "\\$&");
}

/** " (reported, #12)": the review status unless confirmed, and the id people use to correct the entry. */
export function statusTag(entry: { id: number; status: ReviewStatus }, withId: boolean): string {
  const parts = [
    entry.status === "confirmed" ? "" : STATUS_LABEL[entry.status],
    withId ? `#${entry.id}` : "",
  ];
  const shown = parts.filter(Boolean);
  return shown.length ? ` (${shown.join(", ")})` : "";
}

/**
 * "2026-03-14 08:30" in the member's timezone (the host's if it is not valid); a plain day stays as it is,
 * and a time entered without an offset is the member's own clock, shown as written.
 */
export function whenIn(iso: string, timeZone: string): string {
  return localDateTime(iso, zoneOf(timeZone));
}

/** The member's timezone, or the host's. */
export function memberTimeZone(member: Member): string {
  return zoneOf(member.timezone);
}

/** Whole years from a birth date to `today`, or undefined if the birth date is not a date. */
export function ageOn(birthDate: string, today: string): number | undefined {
  const born = /^(\d{4})-(\d{2})-(\d{2})/.exec(birthDate);
  if (!born) return undefined;
  const [year, month, day] = today.split("-").map(Number) as [number, number, number];
  const age = year - Number(born[1]) - (month * 100 + day < Number(born[2]) * 100 + Number(born[3]) ? 1 : 0);
  return age >= 0 ? age : undefined;
}

/** Identity lines: name and id, relationship, sex, birth date and age, blood type, emergency contact. */
export function identityLines(member: Member, today: string, withId = true): string[] {
  const age = member.birthDate ? ageOn(member.birthDate, today) : undefined;
  const rows: [string, string | null][] = [
    ["Name", `${inline(member.displayName)}${withId ? ` (id ${inline(member.id)})` : ""}`],
    ["Also called", member.aliases.length ? member.aliases.map(inline).join(", ") : null],
    ["Relationship", member.relationship],
    ["Sex", member.sex],
    ["Born", member.birthDate ? `${member.birthDate}${age === undefined ? "" : ` (age ${age})`}` : null],
    ["Blood type", member.bloodType],
    ["Emergency contact", member.emergencyContact],
  ];
  return rows
    .filter((row): row is [string, string] => Boolean(row[1]))
    .map(([label, value]) => `- ${label}: ${label === "Name" ? value : inline(value)}`);
}

/** "hypertension — well controlled (since 2015)". */
export function factLine(fact: Entry<"facts">): string {
  const details = fact.details ? ` — ${inline(fact.details)}` : "";
  return `**${inline(fact.text)}**${details}${fact.since ? ` (since ${inline(fact.since)})` : ""}`;
}

/** A medication's details as label/value pairs (only those recorded). */
export function medicationDetails(m: Entry<"medications">): [string, string][] {
  const times = m.timesOfDay.length
    ? `${m.timesOfDay.map(inline).join(", ")}${m.timezone ? ` (${inline(m.timezone)})` : ""}`
    : null;
  const rows: [string, string | null][] = [
    ["Dose", m.dose],
    ["Route", m.route],
    ["Frequency", m.frequency],
    ["Times", times],
    ["Started", m.startDate],
    ["Stopped", m.stopDate],
    ["Reason", m.reason],
  ];
  return rows
    .filter((row): row is [string, string] => Boolean(row[1]))
    .map(([label, value]) => [label, label === "Times" ? value : inline(value)]);
}

/** "**metformin** 500 mg, oral, twice daily, at 08:00, 20:00; since 2024-01-01; for diabetes". */
export function medicationLine(m: Entry<"medications">): string {
  const details = Object.fromEntries(medicationDetails(m));
  const how = [details.Dose, details.Route, details.Frequency, details.Times && `at ${details.Times}`]
    .filter(Boolean)
    .join(", ");
  const parts = [
    `**${inline(m.name)}**${how ? ` ${how}` : ""}`,
    details.Started && `since ${details.Started}`,
    details.Stopped && `stopped ${details.Stopped}`,
    details.Reason && `for ${details.Reason}`,
  ];
  return parts.filter(Boolean).join("; ");
}

/** "taken 26 of 28 scheduled; last missed 2026-11-20 (last 30 days)", or undefined with nothing recorded or due. */
export function adherenceLine(
  record: Pick<MemberRecord, "adherence">,
  m: Entry<"medications">,
): string | undefined {
  const adherence = record.adherence.get(m.id);
  return adherence && adherenceText(adherence);
}

/** "2026-03-14 **fever**, moderate, until 2026-03-16: worse at night". */
export function symptomLine(s: Entry<"symptoms">, timeZone = "UTC"): string {
  const parts = [
    `${whenIn(s.onset, timeZone)} **${inline(s.name)}**`,
    s.severity && inline(s.severity),
    s.ended && `until ${whenIn(s.ended, timeZone)}`,
  ];
  return `${parts.filter(Boolean).join(", ")}${s.notes ? `: ${inline(s.notes)}` : ""}`;
}

/** A number without float noise (128.33, 6.1). */
export function formatValue(value: number, decimals = 2): string {
  return String(Number(value.toFixed(decimals)));
}

/** "130/85 mmHg, pulse 72", "6.1 mmol/L", or in the preferred unit with what was measured: "6.11 mmol/L (110 mg/dL as measured)". */
export function formatReading(r: ShownReading): string {
  return shownReading(r);
}

/** "Blood pressure" from "blood pressure". */
export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "**Blood pressure**: 130/85 mmHg (2026-03-14 08:30); 120 readings since 2025-03-14". */
export function metricSummaryLine(s: MetricSummary, timeZone: string): string {
  const when = whenIn(s.latest.measuredAt, timeZone);
  const count =
    s.count === 1 ? "1 reading" : `${s.count} readings since ${whenIn(s.from, timeZone).slice(0, 10)}`;
  return `**${inline(capitalise(s.label))}**: ${formatReading(s.latest)} (${when}); ${count}`;
}

/** "110–150 mmHg, mean 128.3" or, for two-part readings, each part's range; in the preferred unit. */
export function metricRange(s: MetricSummary): string {
  const n = (value: number, decimals = 2) => shownStatistic(s, value, decimals);
  const range = (min: number, max: number, mean: number) => `${n(min)}–${n(max)}, mean ${n(mean, 1)}`;
  const unit = shownSummaryUnit(s);
  if (s.min2 === null || s.max2 === null || s.mean2 === null) return `${range(s.min, s.max, s.mean)} ${unit}`;
  return `systolic ${range(s.min, s.max, s.mean)}; diastolic ${range(s.min2, s.max2, s.mean2)} ${unit}`;
}

/** "2026-02-01 **Blood panel**". */
export function reportTitle(r: ReportSummary): string {
  return `${r.reportDate ? `${r.reportDate} ` : ""}**${inline(r.title)}**`;
}

/** "2026-02-01 **Blood panel**: HbA1c slightly high. Key values: HbA1c 6.8 %". */
export function reportLine(r: ReportSummary): string {
  const summary = inline(r.summary).replace(/(?<=[^.!?。！？])$/u, ".");
  const values = r.keyValues.length ? ` Key values: ${r.keyValues.map(inline).join("; ")}.` : "";
  return `${reportTitle(r)}: ${summary}${values}`;
}

/** A member's reports, newest first, with key values as texts ("Glucose 6.1 mmol/L (ref 3.9-6.1) high"). */
export function memberReports(db: Db, memberId: string): ReportSummary[] {
  return listReports(db, memberId).map((r) => ({
    id: r.id,
    title: r.title,
    reportDate: r.reportDate,
    summary: r.summary,
    status: r.status,
    keyValues: r.keyValues.map((kv) =>
      [kv.name, kv.value, kv.unit, kv.range && `(ref ${kv.range})`, kv.flag].filter(Boolean).join(" "),
    ),
  }));
}

/** Unconfirmed readings per kind (measured at or after `since`, an ISO instant, when given). */
export function pendingMetricCounts(db: Db, memberId: string, since = "") {
  const rows = db
    .prepare(
      `SELECT kind, COUNT(*) AS count FROM metrics WHERE member_id = ? AND removed_at IS NULL
       AND status <> 'confirmed' AND measured_at >= ? GROUP BY kind ORDER BY kind`,
    )
    .all(memberId, since) as { kind: string; count: number }[];
  // Labelled by kind, not by summary: several summaries may share a kind (glucose per meal context).
  return rows.map((row) => ({ ...row, label: kindOf(db, row.kind).label }));
}

/** What a person still has to confirm or reject: entries reported or auto-captured, readings counted. */
export function pendingReview(record: MemberRecord) {
  const pending = <T extends { status: ReviewStatus }>(entries: T[]) =>
    entries.filter((e) => e.status !== "confirmed");
  const symptoms = pending(record.symptoms);
  return {
    facts: pending(record.facts),
    medications: pending(record.medications),
    reports: pending(record.reports),
    symptoms: symptoms.slice(0, PENDING_SYMPTOM_LIMIT),
    moreSymptoms: Math.max(0, symptoms.length - PENDING_SYMPTOM_LIMIT),
    metrics: record.pendingMetrics,
  };
}
