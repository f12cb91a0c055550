// What the daily risk scan finds, worked out from the archive without a model: blood pressure above the
// member's goal or in the emergency range, a known interaction between two active medications (from the
// DDInter answers already cached in the database: never online), a streak of missed doses.
import type { Actor } from "../access/actor.js";
import { adherenceOf, type DoseRecord, dosesOf } from "../archive/doses.js";
import { normaliseDrugName, type PairAnswer, pairKey } from "../archive/drug-interactions.js";
import { currentEntries, type Entry, entryHistory } from "../archive/entries.js";
import { type Member, visibleMembers } from "../archive/members.js";
import {
  formatLocalTime,
  formatMetricValue,
  type MetricReading,
  memberTimeZone,
  metricSeries,
} from "../archive/metrics.js";
import type { Db } from "../storage/db.js";
import { todayIn } from "../time/dates.js";

const DAY_MS = 86_400_000;
const BP_WINDOW_DAYS = 14;
const BP_MIN_READINGS = 3;
/** The home-reading threshold when a member has no recorded blood pressure goal. */
const DEFAULT_BP_GOAL = { systolic: 135, diastolic: 85 };
const BP_CRISIS = { systolic: 180, diastolic: 120 };
const MISSED_STREAK = 2;
/** Days looked back to tell whether a blood pressure average stayed above goal since the last report. */
const ABOVE_GOAL_LOOKBACK_DAYS = 8;
/** Blood pressure brackets are this many mmHg wide: a higher bracket is a worse finding. */
const BP_BRACKET = 10;

/** One thing the household should act on, most serious kinds first. */
export interface Finding {
  member: Pick<Member, "id" | "displayName">;
  kind: "bp-emergency" | "interaction" | "bp-above-goal" | "missed-doses";
  /** What was seen, with numbers and dates. */
  seen: string;
  nextStep: string;
  /** Which finding of its kind for the member (a medication, a pair of them); "" when there is one. */
  subject: string;
  /** How bad, within its kind (a BP bracket, a streak length, a severity): higher is worse. */
  level: number;
  /** When the data began to show this finding (ISO): one that went away and came back begins anew. */
  since: string;
}

export const RANK: Record<Finding["kind"], number> = {
  "bp-emergency": 0,
  interaction: 1,
  "bp-above-goal": 2,
  "missed-doses": 3,
};

/** The findings for every member `actor` may see, at `at`, most serious first. */
export function scanHousehold(db: Db, actor: Actor, at: Date): Finding[] {
  const perMember: Finding[][] = [];
  for (const member of visibleMembers(db, actor)) {
    const zone = memberTimeZone(db, member.id);
    const medications = activeMedications(db, member.id, todayIn(zone, at));
    const findings = [
      ...bloodPressureFindings(db, member, at, zone),
      ...interactionFindings(db, member, medications),
      ...missedDoseFindings(db, member, medications, at),
    ].sort((a, b) => RANK[a.kind] - RANK[b.kind]);
    if (findings.length > 0) perMember.push(findings);
  }
  // The member with the most serious finding first (a stable sort keeps household order among equals).
  return perMember.sort((a, b) => RANK[a[0]!.kind] - RANK[b[0]!.kind]).flat();
}

// Blood pressure -------------------------------------------------------------------------------------

interface BloodPressureGoal {
  systolic: number;
  diastolic: number;
  /** The goal as recorded, or why the default applies. */
  source: string;
}

/** The member's blood pressure goal from a monitoring_goal fact ("BP goal 130/80"), else 135/85. */
export function bloodPressureGoal(db: Db, memberId: string): BloodPressureGoal {
  const goals = currentEntries(db, "facts", memberId)
    .filter((fact) => fact.category === "monitoring_goal")
    .sort((a, b) => b.id - a.id);
  for (const fact of goals) {
    const text = `${fact.text} ${fact.details ?? ""}`;
    const numbers = /(\d{2,3})\s*\/\s*(\d{2,3})/.exec(text);
    if (numbers && /blood\s*pressure|\bbp\b|血压/i.test(text)) {
      return { systolic: Number(numbers[1]), diastolic: Number(numbers[2]), source: "the goal" };
    }
  }
  return { ...DEFAULT_BP_GOAL, source: "the usual home-reading limit" };
}

function bloodPressureFindings(db: Db, member: Member, at: Date, zone: string): Finding[] {
  // The lookback days too, to tell whether the average has been above goal all along.
  const from = new Date(at.getTime() - (BP_WINDOW_DAYS + ABOVE_GOAL_LOOKBACK_DAYS) * DAY_MS);
  const history = metricSeries(db, member.id, "blood_pressure", {
    since: from.toISOString(),
    until: at.toISOString(),
  }).filter((r) => r.value2 !== null);
  const readings = inWindow(history, at);
  const findings: Finding[] = [];
  const emergency = readings.filter((r) => r.value >= BP_CRISIS.systolic || r.value2! >= BP_CRISIS.diastolic);
  const latest = emergency.at(-1);
  if (latest) {
    const more = emergency.length > 1 ? ` (${emergency.length} such readings in ${BP_WINDOW_DAYS} days)` : "";
    const worst = Math.max(
      ...emergency.map((r) => Math.max(r.value - BP_CRISIS.systolic, r.value2! - BP_CRISIS.diastolic, 0)),
    );
    findings.push({
      member,
      kind: "bp-emergency",
      subject: "",
      level: Math.floor(worst / BP_BRACKET) + 1,
      // Each new reading in the emergency range is reported: it is new data, not a repeat.
      since: new Date(latest.measuredAt).toISOString(),
      seen: `Blood pressure ${formatMetricValue(latest)} on ${formatLocalTime(latest.measuredAt, zone)}${more}: at or above 180/120.`,
      nextStep:
        "if a repeat reading is still this high, or with chest pain, breathlessness, weakness or trouble speaking, call emergency services now; otherwise contact the doctor today.",
    });
  }
  if (readings.length >= BP_MIN_READINGS) {
    const goal = bloodPressureGoal(db, member.id);
    const { systolic, diastolic } = average(readings);
    const excess = aboveGoal(readings, goal);
    if (excess > 0) {
      // The average was above goal at each daily point back to `since` (at most the lookback).
      let since = at;
      for (let day = 1; day <= ABOVE_GOAL_LOOKBACK_DAYS; day++) {
        const point = new Date(at.getTime() - day * DAY_MS);
        if (aboveGoal(inWindow(history, point), goal) === 0) break;
        since = point;
      }
      findings.push({
        member,
        kind: "bp-above-goal",
        subject: "",
        level: Math.ceil(excess / BP_BRACKET),
        since: since.toISOString(),
        seen: `Blood pressure averaged ${systolic}/${diastolic} over the last ${BP_WINDOW_DAYS} days (${readings.length} readings), above ${goal.source} of ${goal.systolic}/${goal.diastolic}.`,
        nextStep: "keep measuring and book a call with the doctor this week about the readings.",
      });
    }
  }
  return findings;
}

/** The readings of the BP window ending at `at`. */
function inWindow(readings: readonly MetricReading[], at: Date): MetricReading[] {
  const from = at.getTime() - BP_WINDOW_DAYS * DAY_MS;
  return readings.filter((r) => {
    const t = Date.parse(r.measuredAt);
    return t >= from && t <= at.getTime();
  });
}

function average(readings: readonly MetricReading[]): { systolic: number; diastolic: number } {
  return {
    systolic: Math.round(readings.reduce((sum, r) => sum + r.value, 0) / readings.length),
    diastolic: Math.round(readings.reduce((sum, r) => sum + r.value2!, 0) / readings.length),
  };
}

/** How many mmHg the average is above goal (the larger of the two), 0 if not, or too few readings. */
function aboveGoal(readings: readonly MetricReading[], goal: BloodPressureGoal): number {
  if (readings.length < BP_MIN_READINGS) return 0;
  const { systolic, diastolic } = average(readings);
  return Math.max(systolic - goal.systolic, diastolic - goal.diastolic, 0);
}

// Medications ----------------------------------------------------------------------------------------

/** Current medications marked active whose dates include `today` (the member's local day). */
function activeMedications(db: Db, memberId: string, today: string): Entry<"medications">[] {
  return currentEntries(db, "medications", memberId).filter(
    (med) =>
      med.state === "active" &&
      (!med.startDate || med.startDate.slice(0, 10) <= today) &&
      (!med.stopDate || med.stopDate.slice(0, 10) >= today),
  );
}

/** Major and moderate interactions DDInter reported for a pair of the member's active medications. */
function interactionFindings(db: Db, member: Member, medications: Entry<"medications">[]): Finding[] {
  const byName = new Map(medications.map((med) => [normaliseDrugName(med.name), med.name]));
  const names = [...byName.keys()].sort();
  const cached = db.prepare(
    "SELECT answer, fetched_at AS fetchedAt FROM drug_interaction_cache WHERE pair_key = ?",
  );
  const findings: Finding[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const row = cached.get(pairKey(names[i]!, names[j]!)) as
        | { answer: string; fetchedAt: string }
        | undefined;
      const answer = row ? parseAnswer(row.answer) : undefined;
      if (answer?.kind !== "interaction" || !["Major", "Moderate"].includes(answer.severity)) continue;
      const pair = [names[i]!, names[j]!];
      findings.push({
        member,
        kind: "interaction",
        subject: pairKey(names[i]!, names[j]!),
        level: answer.severity === "Major" ? 2 : 1,
        since: new Date(Math.max(...pair.map((name) => activeSince(db, medications, name)))).toISOString(),
        seen: `${byName.get(names[i]!)} and ${byName.get(names[j]!)} are both active; DDInter lists a ${answer.severity.toLowerCase()} interaction (checked ${row!.fetchedAt.slice(0, 10)}).`,
        nextStep:
          "ask the pharmacist or doctor whether this combination is intended; do not stop either medicine on your own.",
      });
    }
  }
  return findings;
}

/**
 * Since when the medication named `name` has been active without a break: the first version of its latest
 * run of active versions (a restart is a new version), or its start date if that is later.
 */
function activeSince(db: Db, medications: Entry<"medications">[], name: string): number {
  const current = medications.find((med) => normaliseDrugName(med.name) === name)!;
  let since = Date.parse(current.createdAt);
  for (const version of entryHistory(db, "medications", current.id).reverse()) {
    const ended = version.stopDate && version.stopDate.slice(0, 10) < version.createdAt.slice(0, 10);
    if (version.state !== "active" || ended) break;
    since = Date.parse(version.createdAt);
  }
  return Math.max(since, current.startDate ? Date.parse(current.startDate.slice(0, 10)) : 0);
}

function parseAnswer(text: string): PairAnswer | undefined {
  try {
    return JSON.parse(text) as PairAnswer;
  } catch {
    return undefined;
  }
}

/**
 * The last 2+ doses of an active medication recorded as missed in a row (medication_doses, as the
 * member's record counts them: a later record of a dose replaces an earlier one, skipped ones are neutral).
 */
function missedDoseFindings(
  db: Db,
  member: Member,
  medications: Entry<"medications">[],
  at: Date,
): Finding[] {
  const findings: Finding[] = [];
  for (const med of medications) {
    const adherence = adherenceOf(db, member, med.id, at);
    if (adherence.missedStreak < MISSED_STREAK) continue;
    const chain = entryHistory(db, "medications", med.id);
    findings.push({
      member,
      kind: "missed-doses",
      subject: `medication:${chain[0]?.id ?? med.id}`,
      level: adherence.missedStreak,
      since: missedStreakSince(db, med.id) ?? at.toISOString(),
      seen: `${med.name}: the last ${adherence.missedStreak} doses recorded were missed (latest ${adherence.lastMissed}).`,
      nextStep: "check in about the doses; if they are hard to keep up, talk to the doctor or pharmacist.",
    });
  }
  return findings;
}

/** The time of the first dose of the current missed streak, counted as adherenceOf counts it. */
function missedStreakSince(db: Db, medicationId: number): string | undefined {
  const latestPerDose = new Map<string, DoseRecord>();
  for (const dose of dosesOf(db, medicationId)) latestPerDose.set(dose.scheduledAt ?? `#${dose.id}`, dose);
  const time = (dose: DoseRecord) => dose.scheduledAt ?? dose.takenAt ?? dose.createdAt;
  const outcomes = [...latestPerDose.values()].sort((a, b) => time(a).localeCompare(time(b)));
  let since: string | undefined;
  for (const dose of outcomes.reverse()) {
    if (dose.outcome === "skipped") continue;
    if (dose.outcome !== "missed") break;
    since = new Date(time(dose)).toISOString();
  }
  return since;
}
