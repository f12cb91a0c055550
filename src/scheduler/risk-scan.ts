// The daily household risk scan (skill risk-monitoring): a scheduler source that, at heartbeat.riskScan.at
// in the target person's timezone, reads the archive of the members that person is granted and reports
// only real findings, worked out from the data without a model (risk-findings.ts).
// What was reported is remembered (risk_findings, written when the message is sent): an unchanged finding is
// repeated only when it got worse, when it went away and came back, or about a week after it was last sent.

import type { MedbotConfig } from "../config/schema.js";
import type { DeliveryOutcome, DueEvent, DueSource } from "../schedules/types.js";
import type { Db } from "../storage/db.js";
import { hostTimeZone, todayIn } from "../time/dates.js";
import { type HeartbeatTarget, heartbeatTarget } from "./heartbeat.js";
import { nextLocalTime, quietEnd } from "./quiet-hours.js";
import { type Finding, scanHousehold } from "./risk-findings.js";

const DAY_MS = 86_400_000;
/** An unchanged finding is sent again this long after it was last sent (a week; slack for DST and quiet hours). */
const REPEAT_AFTER_MS = 7 * DAY_MS - 12 * 3_600_000;

/** What the scan last sent the target person about one finding. */
interface Reported {
  level: number;
  since: string;
  firstReported: string;
  lastReported: string;
}

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
  /** The findings each event carries, remembered as reported only once the engine sends that event. */
  private readonly carried = new WeakMap<DueEvent, Finding[]>();

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
   * archive's present state is what matters, and one message says it. Findings already sent and not due
   * again are left out; with nothing left there is no event.
   */
  due(from: Date, to: Date): DueEvent[] {
    let latest: { day: string; dueAt: Date } | undefined;
    for (let next = this.occurrence(from); next && next.dueAt <= to; next = this.occurrence(next.dueAt))
      latest = next;
    if (!latest) return [];
    const findings = this.worthSending(this.findings(latest.dueAt), latest.dueAt);
    if (findings.length === 0) return [];
    const event: DueEvent = {
      key: `scan:${latest.day}`,
      dueAt: latest.dueAt,
      target: this.heartbeat.target,
      text: riskMessage(latest.day, findings),
      graceMs: this.config.reminders.graceMinutes * 60_000,
    };
    this.carried.set(event, findings);
    return [event];
  }

  /** In the delivery transaction: a sent scan's findings are remembered as reported; a missed one's not. */
  settled(event: DueEvent, outcome: DeliveryOutcome): void {
    const findings = this.carried.get(event);
    if (outcome !== "sent" || !findings) return;
    const at = event.dueAt.toISOString();
    const save = this.db.prepare(
      `INSERT INTO risk_findings (person, member_id, kind, subject, level, since, first_reported, last_reported)
       VALUES (@person, @memberId, @kind, @subject, @level, @since, @firstReported, @lastReported)
       ON CONFLICT (person, member_id, kind, subject) DO UPDATE SET level = excluded.level,
         since = excluded.since, first_reported = excluded.first_reported, last_reported = excluded.last_reported`,
    );
    for (const finding of findings) {
      const before = this.reported(finding);
      save.run({
        person: this.heartbeat.actor.person,
        memberId: finding.member.id,
        kind: finding.kind,
        subject: finding.subject,
        level: finding.level,
        since: finding.since,
        firstReported: before && !beganAnew(finding, before) ? before.firstReported : at,
        lastReported: at,
      });
    }
  }

  /** The findings the target person has not been told, or should be told again, at `at`. */
  worthSending(findings: readonly Finding[], at: Date): Finding[] {
    return findings.filter((finding) => {
      const before = this.reported(finding);
      return (
        !before ||
        at.getTime() - Date.parse(before.lastReported) >= REPEAT_AFTER_MS ||
        finding.level > before.level ||
        beganAnew(finding, before)
      );
    });
  }

  /** Everything worth reporting at `at`, for the members the target's person is granted. */
  findings(at: Date): Finding[] {
    return scanHousehold(this.db, this.heartbeat.actor, at);
  }

  private reported(finding: Finding): Reported | undefined {
    return this.db
      .prepare(
        `SELECT level, since, first_reported AS firstReported, last_reported AS lastReported FROM risk_findings
         WHERE person = ? AND member_id = ? AND kind = ? AND subject = ?`,
      )
      .get(this.heartbeat.actor.person, finding.member.id, finding.kind, finding.subject) as
      | Reported
      | undefined;
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

/**
 * A finding whose data began after the last report (a new crisis reading, a new missed streak, a medication
 * restarted, an average back above goal) went away and came back: it is new, whatever its level.
 */
function beganAnew(finding: Finding, before: Reported): boolean {
  // A late scan can see data newer than its due time: the episode it reported began at `since`, not before.
  const known = Math.max(Date.parse(before.lastReported), Date.parse(before.since));
  return Date.parse(finding.since) > known;
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
