// Medication doses: when each dose of a medication is scheduled (its times of day, in its timezone, between
// its start and stop dates), what was recorded about a dose (taken, missed, skipped), and the adherence that
// the record and the doctor export show. The scheduler's reminders use the same schedule.
import type { Actor } from "../access/actor.js";
import { todayIn, wallClock, wallToInstant } from "../time/dates.js";
import { ArchiveError, type FamilyArchive } from "./archive.js";
import { currentEntries, type Entry, entryHistory } from "./entries.js";
import { type Member, nameKey } from "./members.js";
import { zoneOf } from "./metrics.js";

export const DOSE_OUTCOMES = ["taken", "missed", "skipped"] as const;
export type DoseOutcome = (typeof DOSE_OUTCOMES)[number];

/** The record shows adherence over this many days. */
export const ADHERENCE_DAYS = 30;

const DAY_MS = 86_400_000;
/** A dose "taken" further in the future than this is a mistake, not a clock skew. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** "08:00" alone means today's 08:00 unless that is further ahead than this (then yesterday's). */
const TIME_ONLY_LOOKAHEAD_MS = 6 * 3_600_000;
const MAX_NOTE = 500;
const CLOCK_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** One scheduled dose: the instant and the local clock time it was scheduled for. */
export interface ScheduledDose {
  at: Date;
  /** Local "HH:MM" in the medication's timezone at that instant. */
  time: string;
}

/** The timezone a medication's doses are scheduled in: its own, else the member's, else the host's. */
export function medicationZone(
  medication: Pick<Entry<"medications">, "timezone">,
  member: Pick<Member, "timezone"> | undefined,
  hostZone?: string,
): string {
  return zoneOf(medication.timezone ?? member?.timezone ?? zoneOf(hostZone));
}

/**
 * The instant `zone` shows `day` `time`. A time skipped by a DST change (02:30 on the spring-forward day)
 * comes out an hour later, as the clock reads then; a repeated one (autumn) is its second occurrence.
 */
export function localInstant(day: string, time: string, zone: string): Date {
  const [year, month, date] = day.split("-").map(Number) as [number, number, number];
  const [hour, minute] = time.split(":").map(Number) as [number, number];
  return new Date(wallToInstant(Date.UTC(year, month - 1, date, hour, minute), zone));
}

/** "HH:MM" in `zone` at `at`. */
export function localClock(at: Date, zone: string): string {
  return new Date(wallClock(at.getTime(), zone)).toISOString().slice(11, 16);
}

function shiftDay(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Doses of a medication version with from < at <= to, oldest first: one per time of day on each local day
 * from its start date to its stop date (both inclusive); none while it is stopped.
 */
export function scheduledDoses(
  medication: Pick<Entry<"medications">, "timesOfDay" | "startDate" | "stopDate" | "state">,
  zone: string,
  from: Date,
  to: Date,
): ScheduledDose[] {
  const times = [...new Set(medication.timesOfDay.filter((t) => CLOCK_TIME.test(t)))].sort();
  if (medication.state !== "active" || times.length === 0 || to <= from) return [];
  // A local day's doses lie within a day either side of its UTC date, whatever the offset.
  let day = shiftDay(from.toISOString().slice(0, 10), -1);
  const last = shiftDay(to.toISOString().slice(0, 10), 1);
  const start = medication.startDate?.slice(0, 10);
  const stop = medication.stopDate?.slice(0, 10);
  if (start && start > day) day = start;
  const doses: ScheduledDose[] = [];
  for (; day <= last && (!stop || day <= stop); day = shiftDay(day, 1)) {
    for (const time of times) {
      const at = localInstant(day, time, zone);
      if (at > from && at <= to) doses.push({ at, time: localClock(at, zone) });
    }
  }
  return doses.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** The first dose strictly after `after`, or undefined if none is scheduled any more. */
export function nextScheduledDose(
  medication: Pick<Entry<"medications">, "timesOfDay" | "startDate" | "stopDate" | "state">,
  zone: string,
  after: Date,
): ScheduledDose | undefined {
  const start = medication.startDate?.slice(0, 10);
  // A start date still ahead: look from just before it; from then on every day within the dates has doses.
  const startMs = start ? Date.parse(`${start}T00:00:00Z`) - 2 * DAY_MS : Number.NEGATIVE_INFINITY;
  const from = new Date(Math.max(after.getTime(), startMs));
  const found = scheduledDoses(medication, zone, from, new Date(from.getTime() + 4 * DAY_MS));
  return found.find((dose) => dose.at > after);
}

/** A dose as recorded. */
export interface DoseRecord {
  id: number;
  memberId: string;
  medicationId: number;
  scheduledAt: string | null;
  outcome: DoseOutcome;
  takenAt: string | null;
  note: string | null;
  reportedBy: string;
  channel: string;
  createdAt: string;
}

export interface DoseInput {
  /** A medication id ("12" or "#12") or name of one of the member's current medications. */
  medication: string;
  outcome: DoseOutcome;
  /** When it was taken (ISO, or local "YYYY-MM-DDTHH:MM" / "HH:MM"); default now. */
  at?: string;
  /** The scheduled dose it answers (same forms). */
  scheduled?: string;
  note?: string;
}

/** The member's current medication a reference means (id or name); an ArchiveError lists them otherwise. */
export function findMedication(archive: FamilyArchive, member: Member, ref: string): Entry<"medications"> {
  const current = currentEntries(archive.db, "medications", member.id);
  const list = current.map((m) => `${m.name} (#${m.id}${m.state === "stopped" ? ", stopped" : ""})`);
  const known = list.length ? ` Current: ${list.join(", ")}.` : " None are recorded.";
  const id = /^#?(\d+)$/.exec(ref.trim());
  if (id) {
    const latest = entryHistory(archive.db, "medications", Number(id[1])).at(-1);
    const found = current.find((m) => m.id === latest?.id);
    if (found) return found;
    throw new ArchiveError(`${member.displayName} has no current medication #${id[1]}.${known}`);
  }
  const named = current.filter((m) => nameKey(m.name) === nameKey(ref));
  const active = named.filter((m) => m.state === "active");
  const matches = active.length ? active : named;
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new ArchiveError(
      `${member.displayName} has several medications called "${ref}": ${matches.map((m) => `#${m.id}`).join(", ")}. Give the id.`,
    );
  }
  throw new ArchiveError(`${member.displayName} has no medication called "${ref}".${known}`);
}

const LOCAL_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?$/;
const ZONED_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** A dose time as an instant: ISO with an offset, a local date-time, or a local "HH:MM" (the latest one). */
export function parseDoseTime(text: string, zone: string, now: Date, what: string): Date {
  const value = text.trim();
  const time = CLOCK_TIME.exec(value);
  const local = LOCAL_TIME.exec(value);
  let at: Date | undefined;
  if (time) {
    at = localInstant(todayIn(zone, now), value, zone);
    if (at.getTime() - now.getTime() > TIME_ONLY_LOOKAHEAD_MS) {
      at = localInstant(shiftDay(todayIn(zone, now), -1), value, zone);
    }
  } else if (local && CLOCK_TIME.test(local[2]!) && !Number.isNaN(Date.parse(`${local[1]}T00:00:00Z`))) {
    at = localInstant(local[1]!, local[2]!, zone);
  } else if (ZONED_TIME.test(value) && !Number.isNaN(Date.parse(value.replace(" ", "T")))) {
    at = new Date(value.replace(" ", "T"));
  }
  if (!at || Number.isNaN(at.getTime())) {
    throw new ArchiveError(
      `The ${what} "${text}" must be a time like 08:00, 2026-03-14T08:00 or an ISO time with an offset.`,
    );
  }
  return at;
}

/** Records what happened to one dose of a member's medication, audited with who reported it and where. */
export function recordDose(
  archive: FamilyArchive,
  actor: Actor,
  memberRef: string,
  input: DoseInput,
): { member: Member; medication: Entry<"medications">; dose: DoseRecord } {
  const member = archive.member(actor, memberRef);
  if (!DOSE_OUTCOMES.includes(input.outcome)) {
    throw new ArchiveError(`The outcome "${input.outcome}" must be one of ${DOSE_OUTCOMES.join(", ")}.`);
  }
  const medication = findMedication(archive, member, input.medication);
  const zone = medicationZone(medication, member);
  const now = archive.clock();
  const scheduledText = input.scheduled ?? (input.outcome === "taken" ? undefined : input.at);
  const scheduled = scheduledText ? parseDoseTime(scheduledText, zone, now, "scheduled time") : undefined;
  const taken =
    input.outcome === "taken"
      ? input.at
        ? parseDoseTime(input.at, zone, now, "time taken")
        : now
      : undefined;
  if (taken && taken.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) {
    throw new ArchiveError(`The time taken "${input.at}" is in the future; give when it was taken.`);
  }
  const note = input.note?.trim() || null;
  if (note && note.length > MAX_NOTE)
    throw new ArchiveError(`The note is longer than ${MAX_NOTE} characters.`);
  const event = {
    action: "dose.record",
    memberId: member.id,
    entity: "medications",
    entityId: medication.id,
  };
  const id = archive.change(actor, event, (seq, createdAt) =>
    Number(
      archive.db
        .prepare(
          `INSERT INTO medication_doses (member_id, medication_id, scheduled_at, outcome, taken_at, note,
             reported_by, channel, created_at, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          member.id,
          medication.id,
          scheduled?.toISOString() ?? null,
          input.outcome,
          taken?.toISOString() ?? null,
          note,
          actor.person,
          actor.channel,
          createdAt,
          seq,
        ).lastInsertRowid,
    ),
  );
  return { member, medication, dose: doseById(archive, id)! };
}

const DOSE_COLUMNS = `id, member_id AS memberId, medication_id AS medicationId, scheduled_at AS scheduledAt, outcome,
  taken_at AS takenAt, note, reported_by AS reportedBy, channel, created_at AS createdAt`;

function doseById(archive: FamilyArchive, id: number): DoseRecord | undefined {
  return archive.db.prepare(`SELECT ${DOSE_COLUMNS} FROM medication_doses WHERE id = ?`).get(id) as
    | DoseRecord
    | undefined;
}

/** Every dose recorded for any version of this medication, oldest first (by the time it concerns). */
export function dosesOf(db: FamilyArchive["db"], medicationId: number): DoseRecord[] {
  const ids = entryHistory(db, "medications", medicationId).map((m) => m.id);
  if (ids.length === 0) return [];
  return db
    .prepare(
      `SELECT ${DOSE_COLUMNS} FROM medication_doses WHERE medication_id IN (${ids.map(() => "?").join(", ")})
         ORDER BY COALESCE(scheduled_at, taken_at, created_at), id`,
    )
    .all(...ids) as DoseRecord[];
}

/** The instant a recorded dose concerns: its scheduled time, else when it was taken or recorded. */
function doseTime(dose: DoseRecord): string {
  return dose.scheduledAt ?? dose.takenAt ?? dose.createdAt;
}

/** Adherence of one medication over the last `days` local days, up to now. */
export interface Adherence {
  medicationId: number;
  days: number;
  /** Doses the schedule had in the window so far (0 for a medication without times of day). */
  scheduled: number;
  taken: number;
  missed: number;
  skipped: number;
  /** Scheduled doses nobody recorded anything about. */
  unrecorded: number;
  /** Local day of the latest missed dose (any time, not only in the window). */
  lastMissed: string | null;
  /** Missed doses in a row up to the latest recorded outcome (skipped ones neither count nor break it). */
  missedStreak: number;
}

/**
 * Adherence of a medication (any version's id): the doses its schedule had in the window (each version in
 * force from its own recording to the next: doses before medbot knew of them were never reminded or asked
 * about), and what was recorded; a later record of the same scheduled dose replaces an earlier one
 * ("missed", then "actually taken").
 */
export function adherenceOf(
  db: FamilyArchive["db"],
  member: Pick<Member, "timezone">,
  medicationId: number,
  now: Date,
  days = ADHERENCE_DAYS,
): Adherence {
  const chain = entryHistory(db, "medications", medicationId);
  const current = chain.at(-1);
  const zone = medicationZone(current ?? { timezone: null }, member);
  const windowStart = localInstant(shiftDay(todayIn(zone, now), 1 - days), "00:00", zone);
  let scheduled = 0;
  chain.forEach((version, i) => {
    const from = Math.max(windowStart.getTime(), Date.parse(version.createdAt));
    const next = chain[i + 1];
    const to = Math.min(now.getTime(), next ? Date.parse(next.createdAt) : now.getTime());
    const versionZone = medicationZone(version, member);
    // `from` is inclusive for the window's first dose (midnight), exclusive elsewhere: shift by 1 ms.
    scheduled += scheduledDoses(version, versionZone, new Date(from - 1), new Date(to)).length;
  });
  const latestPerDose = new Map<string, DoseRecord>();
  const all = dosesOf(db, medicationId);
  for (const dose of all) latestPerDose.set(dose.scheduledAt ?? `#${dose.id}`, dose);
  const outcomes = [...latestPerDose.values()].sort((a, b) => doseTime(a).localeCompare(doseTime(b)));
  const inWindow = outcomes.filter((d) => {
    const at = Date.parse(doseTime(d));
    return at >= windowStart.getTime() && at <= now.getTime() + FUTURE_TOLERANCE_MS;
  });
  const count = (outcome: DoseOutcome) => inWindow.filter((d) => d.outcome === outcome).length;
  const answeredScheduled = inWindow.filter((d) => d.scheduledAt).length;
  const lastMissed = outcomes.filter((d) => d.outcome === "missed").at(-1);
  let missedStreak = 0;
  for (const dose of [...outcomes].reverse()) {
    if (dose.outcome === "skipped") continue;
    if (dose.outcome !== "missed") break;
    missedStreak++;
  }
  return {
    medicationId: current?.id ?? medicationId,
    days,
    scheduled,
    taken: count("taken"),
    missed: count("missed"),
    skipped: count("skipped"),
    unrecorded: Math.max(0, scheduled - answeredScheduled),
    lastMissed: lastMissed ? todayIn(zone, new Date(doseTime(lastMissed))) : null,
    missedStreak,
  };
}

/** "taken 26 of 28 scheduled; 1 missed; last missed 2026-11-20", or undefined when there is nothing to say. */
export function adherenceText(a: Adherence): string | undefined {
  const recorded = a.taken + a.missed + a.skipped;
  if (a.scheduled === 0 && recorded === 0) return undefined;
  const parts = [
    a.scheduled ? `taken ${a.taken} of ${a.scheduled} scheduled` : `taken ${a.taken}`,
    a.missed ? `${a.missed} missed` : "",
    a.skipped ? `${a.skipped} skipped` : "",
    a.scheduled && a.unrecorded ? `${a.unrecorded} not recorded` : "",
    a.missedStreak > 1 ? `${a.missedStreak} missed in a row` : "",
    a.lastMissed ? `last missed ${a.lastMissed}` : "",
  ];
  return `${parts.filter(Boolean).join("; ")} (last ${a.days} days)`;
}
