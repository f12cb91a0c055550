// The daily household risk scan (skill risk-monitoring): a scheduler source that, at heartbeat.riskScan.at
// in the target person's timezone, reads the archive of the members that person is granted and reports
// only real findings, worked out from the data without a model: blood pressure above goal or in the
// emergency range, a known interaction between two active medications, a streak of missed doses.
// Interactions come from the DDInter answers already cached in the database: the scan never goes online.
import type { Actor } from "../access/actor.js";
import { hostTimeZone, todayIn } from "../archive/dates.js";
import { adherenceOf } from "../archive/doses.js";
import { normaliseDrugName, type PairAnswer, pairKey } from "../archive/drug-interactions.js";
import { currentEntries, type Entry } from "../archive/entries.js";
import { type Member, visibleMembers } from "../archive/members.js";
import { formatLocalTime, formatMetricValue, memberTimeZone, metricSeries } from "../archive/metrics.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Db } from "../storage/db.js";
import { type HeartbeatTarget, heartbeatTarget } from "./heartbeat.js";
import { nextLocalTime, quietEnd } from "./quiet-hours.js";
import type { DueEvent, DueSource } from "./types.js";

const DAY_MS = 86_400_000;
const BP_WINDOW_DAYS = 14;
const BP_MIN_READINGS = 3;
/** The home-reading threshold when a member has no recorded blood pressure goal. */
const DEFAULT_BP_GOAL = { systolic: 135, diastolic: 85 };
const BP_CRISIS = { systolic: 180, diastolic: 120 };
const MISSED_STREAK = 2;

/** One thing the household should act on, most serious kinds first. */
export interface Finding {
  member: Pick<Member, "id" | "displayName">;
  kind: "bp-emergency" | "interaction" | "bp-above-goal" | "missed-doses";
  /** What was seen, with numbers and dates. */
  seen: string;
  nextStep: string;
}

const RANK: Record<Finding["kind"], number> = {
  "bp-emergency": 0,
  interaction: 1,
  "bp-above-goal": 2,
  "missed-doses": 3,
};

export interface RiskScanOptions {
  config: MedbotConfig;
  db: Db;
  /** The timezone of a target person without one; default the host's. */
  hostTimeZone?: string;
}

/**
 * The scan as a scheduler source: undefined when riskScan is switched off, a problem when it cannot run
 * (no heartbeat.target, or the target is no configured person).
 */
export function riskScanSource(options: RiskScanOptions): RiskScan | { problem: string } | undefined {
  if (!options.config.heartbeat.riskScan.enabled) return undefined;
  const resolved = heartbeatTarget(options.config, options.hostTimeZone ?? hostTimeZone());
  if ("problem" in resolved) return { problem: `the risk scan cannot run: ${resolved.problem}` };
  return new RiskScan(options.config, options.db, resolved);
}

export class RiskScan implements DueSource {
  readonly name = "risk-scan";

  constructor(
    private readonly config: MedbotConfig,
    private readonly db: Db,
    private readonly heartbeat: HeartbeatTarget,
  ) {}

  /** The next scan after `after`: riskScan.at each day, or the end of quiet hours if that time is quiet. */
  next(after: Date): Date | undefined {
    return this.occurrence(after)?.dueAt;
  }

  /**
   * The scan due in (from, to], findings computed now. After downtime only the latest scan is run: the
   * archive's present state is what matters, and one message says it.
   */
  due(from: Date, to: Date): DueEvent[] {
    let latest: { day: string; dueAt: Date } | undefined;
    for (let next = this.occurrence(from); next && next.dueAt <= to; next = this.occurrence(next.dueAt))
      latest = next;
    if (!latest) return [];
    const findings = this.findings(latest.dueAt);
    if (findings.length === 0) return [];
    return [
      {
        key: `scan:${latest.day}`,
        dueAt: latest.dueAt,
        target: this.heartbeat.target,
        text: riskMessage(latest.day, findings),
        graceMs: this.config.reminders.graceMinutes * 60_000,
      },
    ];
  }

  /** Everything worth reporting at `at`, for the members the target's person is granted. */
  findings(at: Date): Finding[] {
    return scanHousehold(this.db, this.heartbeat.actor, at);
  }

  /** The first scan due strictly after `after`, with the local day it belongs to. */
  private occurrence(after: Date): { day: string; dueAt: Date } | undefined {
    const { riskScan, quietHours } = this.config.heartbeat;
    if (!riskScan.enabled) return undefined;
    const at = riskScan.at;
    const zone = this.heartbeat.timeZone;
    // A scan moved to the end of quiet hours may fall after the next day's start: begin two days back.
    let scheduled = nextLocalTime(at, new Date(after.getTime() - 2 * DAY_MS), zone);
    for (;;) {
      const dueAt = quietEnd(quietHours, scheduled, zone);
      if (dueAt > after) return { day: todayIn(zone, scheduled), dueAt };
      scheduled = nextLocalTime(at, scheduled, zone);
    }
  }
}

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

/** One message for the household: a line per finding, grouped by member, with the next step. */
export function riskMessage(day: string, findings: readonly Finding[]): string {
  const lines = [`Household risk scan, ${day}:`];
  let member: string | undefined;
  for (const finding of findings) {
    if (finding.member.id !== member) {
      member = finding.member.id;
      lines.push("", `${finding.member.displayName}:`);
    }
    lines.push(`- ${finding.seen} Next step: ${finding.nextStep}`);
  }
  return lines.join("\n");
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
  const since = new Date(at.getTime() - BP_WINDOW_DAYS * DAY_MS).toISOString();
  const readings = metricSeries(db, member.id, "blood_pressure", { since, until: at.toISOString() }).filter(
    (r) => r.value2 !== null,
  );
  const findings: Finding[] = [];
  const emergency = readings.filter((r) => r.value >= BP_CRISIS.systolic || r.value2! >= BP_CRISIS.diastolic);
  const latest = emergency.at(-1);
  if (latest) {
    const more = emergency.length > 1 ? ` (${emergency.length} such readings in ${BP_WINDOW_DAYS} days)` : "";
    findings.push({
      member,
      kind: "bp-emergency",
      seen: `Blood pressure ${formatMetricValue(latest)} on ${formatLocalTime(latest.measuredAt, zone)}${more}: at or above 180/120.`,
      nextStep:
        "if a repeat reading is still this high, or with chest pain, breathlessness, weakness or trouble speaking, call emergency services now; otherwise contact the doctor today.",
    });
  }
  if (readings.length >= BP_MIN_READINGS) {
    const goal = bloodPressureGoal(db, member.id);
    const systolic = Math.round(readings.reduce((sum, r) => sum + r.value, 0) / readings.length);
    const diastolic = Math.round(readings.reduce((sum, r) => sum + r.value2!, 0) / readings.length);
    if (systolic > goal.systolic || diastolic > goal.diastolic) {
      findings.push({
        member,
        kind: "bp-above-goal",
        seen: `Blood pressure averaged ${systolic}/${diastolic} over the last ${BP_WINDOW_DAYS} days (${readings.length} readings), above ${goal.source} of ${goal.systolic}/${goal.diastolic}.`,
        nextStep: "keep measuring and book a call with the doctor this week about the readings.",
      });
    }
  }
  return findings;
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
      findings.push({
        member,
        kind: "interaction",
        seen: `${byName.get(names[i]!)} and ${byName.get(names[j]!)} are both active; DDInter lists a ${answer.severity.toLowerCase()} interaction (checked ${row!.fetchedAt.slice(0, 10)}).`,
        nextStep:
          "ask the pharmacist or doctor whether this combination is intended; do not stop either medicine on your own.",
      });
    }
  }
  return findings;
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
    findings.push({
      member,
      kind: "missed-doses",
      seen: `${med.name}: the last ${adherence.missedStreak} doses recorded were missed (latest ${adherence.lastMissed}).`,
      nextStep: "check in about the doses; if they are hard to keep up, talk to the doctor or pharmacist.",
    });
  }
  return findings;
}
