// Medication reminders, computed from the medication record every time they are asked for: there are no
// reminder rows to keep in step, so stopping a medication or changing its times cancels or moves its
// reminders at once. One member's doses due at the same instant make one message, sent as written to each
// chat configured for that member, and only to chats of people granted that member (reminders carry health
// data).
import { mayAccess } from "../access/actor.js";
import { actorForChat } from "../access/people.js";
import { medicationZone, nextScheduledDose, scheduledDoses } from "../archive/doses.js";
import { currentEntries, type Entry } from "../archive/entries.js";
import { allMembers, type Member } from "../archive/members.js";
import { type ChatTarget, parseChatTarget } from "../config/chat-target.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Db } from "../storage/db.js";
import type { DueEvent, DueSource } from "./types.js";

export const MEDICATION_SOURCE = "medication";

type ReminderConfig = Pick<MedbotConfig, "reminders" | "people">;

/** One member's reminder at one instant: the medications due then. */
export interface ReminderGroup {
  member: Member;
  at: Date;
  /** Local "HH:MM" of the first medication's timezone. */
  time: string;
  medications: Entry<"medications">[];
}

/** True when the chat belongs to a person granted this member. */
function mayReceive(config: ReminderConfig, memberId: string, target: ChatTarget): boolean {
  return mayAccess(actorForChat(config, target.channel, target.chatId), memberId);
}

/**
 * Problems with reminders.deliverTo: a chat that is not the direct chat of a person granted that member
 * (a group, a stranger, someone without the grant). Such a chat gets no reminders.
 */
export function reminderTargetProblems(config: ReminderConfig): string[] {
  const problems: string[] = [];
  for (const [memberId, chats] of Object.entries(config.reminders.deliverTo)) {
    for (const chat of chats) {
      if (mayReceive(config, memberId, parseChatTarget(chat))) continue;
      problems.push(
        `reminders.deliverTo.${memberId}: ${chat} is not the chat of a person granted "${memberId}"; add it to the identities of such a person in "people" (a direct chat id is the person's sender id; an email address for email), or remove it`,
      );
    }
  }
  return problems;
}

/** "metformin 500 mg". */
function medicationLabel(medication: Entry<"medications">): string {
  return [medication.name, medication.dose].filter(Boolean).join(" ");
}

/** The reminder as sent: who, when, each medication with its dose, and how to answer. */
export function reminderText(group: ReminderGroup): string {
  const list = group.medications.map(medicationLabel).join("; ");
  return `Reminder for ${group.member.displayName}, ${group.time}: ${list}. Reply "taken" when done.`;
}

/** The DueSource "medication": reminders of every active medication with times of day. */
export class MedicationReminders implements DueSource {
  readonly name = MEDICATION_SOURCE;

  constructor(
    private readonly db: Db,
    private readonly config: ReminderConfig,
    /** The host's IANA timezone (the fallback when neither medication nor member has one). */
    private readonly hostTimeZone?: string,
  ) {}

  next(after: Date): Date | undefined {
    let earliest: Date | undefined;
    for (const { member, medications } of this.scheduled()) {
      for (const medication of medications) {
        const zone = medicationZone(medication, member, this.hostTimeZone);
        const dose = nextScheduledDose(medication, zone, laterOf(after, recordedAt(medication)));
        if (dose && (!earliest || dose.at < earliest)) earliest = dose.at;
      }
    }
    return earliest;
  }

  due(from: Date, to: Date): DueEvent[] {
    const graceMs = this.config.reminders.graceMinutes * 60_000;
    const events: DueEvent[] = [];
    for (const { member, medications } of this.scheduled()) {
      const targets = this.targets(member.id);
      for (const group of reminderGroups(member, medications, from, to, this.hostTimeZone, true)) {
        const text = reminderText(group);
        for (const target of targets) {
          events.push({
            key: `${member.id}@${group.time}>${target.channel}:${target.chatId}`,
            dueAt: group.at,
            target,
            text,
            graceMs,
            memberId: member.id,
          });
        }
      }
    }
    return events.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.key.localeCompare(b.key));
  }

  /** Members with reminder chats and their active medications that have times of day. */
  private scheduled(): { member: Member; medications: Entry<"medications">[] }[] {
    return allMembers(this.db)
      .filter((member) => this.targets(member.id).length > 0)
      .map((member) => ({
        member,
        medications: remindedMedications(this.db, member.id),
      }))
      .filter((s) => s.medications.length > 0);
  }

  /** The member's configured chats that may receive their health data. */
  private targets(memberId: string): ChatTarget[] {
    return (this.config.reminders.deliverTo[memberId] ?? [])
      .map(parseChatTarget)
      .filter((target) => mayReceive(this.config, memberId, target));
  }
}

/** When this version of the medication was recorded: doses before it belong to the version it replaced. */
function recordedAt(medication: Entry<"medications">): Date {
  return new Date(medication.createdAt);
}

function laterOf(a: Date, b: Date): Date {
  return a > b ? a : b;
}

/**
 * The member's doses in (from, to], grouped by instant, oldest first; with `sinceRecorded` only those after
 * each medication version was recorded (a dose time already past when it was entered is not reminded).
 */
function reminderGroups(
  member: Member,
  medications: Entry<"medications">[],
  from: Date,
  to: Date,
  hostTimeZone?: string,
  sinceRecorded = false,
): ReminderGroup[] {
  const byInstant = new Map<number, ReminderGroup>();
  for (const medication of [...medications].sort((a, b) => a.id - b.id)) {
    const zone = medicationZone(medication, member, hostTimeZone);
    const start = sinceRecorded ? laterOf(from, recordedAt(medication)) : from;
    for (const dose of scheduledDoses(medication, zone, start, to)) {
      const group = byInstant.get(dose.at.getTime());
      if (group) group.medications.push(medication);
      else
        byInstant.set(dose.at.getTime(), { member, at: dose.at, time: dose.time, medications: [medication] });
    }
  }
  return [...byInstant.values()].sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** Active medications with times of day: the ones that have reminders. */
function remindedMedications(db: Db, memberId: string): Entry<"medications">[] {
  return currentEntries(db, "medications", memberId).filter(
    (m) => m.state === "active" && m.timesOfDay.length > 0,
  );
}

/** The reminder of a member due exactly at `at` as the record stands now (what a "taken" reply answers). */
export function reminderAt(
  db: Db,
  memberId: string,
  at: Date,
  hostTimeZone?: string,
): ReminderGroup | undefined {
  const member = allMembers(db).find((m) => m.id === memberId);
  if (!member) return undefined;
  return reminderGroups(
    member,
    remindedMedications(db, memberId),
    new Date(at.getTime() - 1),
    at,
    hostTimeZone,
  )[0];
}
