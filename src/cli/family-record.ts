// `medbot family record MEMBER KIND ACTION [NAME|ID]`: the owner keeps a member's allergies, conditions,
// medications and symptoms from the terminal, with no model, through the archive's own write path (the one the
// family_record tool uses): history kept, one audit entry on channel cli per change, views re-rendered. What
// the owner types at the terminal is recorded as confirmed: the owner is the reviewer.
import type { Command } from "commander";
import { hostOwner } from "../access/actor.js";
import { entryLine } from "../agent/tools/family-record.js";
import { ENTRY_NOUN, type FamilyArchive } from "../archive/archive.js";
import {
  type Entry,
  type EntryFields,
  type EntryTable,
  type FactCategory,
  getEntry,
  stoppedReason,
} from "../archive/entries.js";
import type { Member } from "../archive/members.js";
import { hostTimeZone, todayIn } from "../time/dates.js";
import { withArchive } from "./archive-session.js";
import {
  checkAction,
  entryId,
  isBefore,
  optionalText,
  RECORD_KINDS,
  type RecordFlags,
  type RecordKind,
  recordDate,
  recordKind,
  sinceDate,
  timesOfDay,
} from "./record-input.js";
import { CliFailure, type GlobalOptions } from "./startup.js";

const actor = hostOwner("cli");
/** The archive wants a reason for a correction; the owner correcting at the terminal is that reason. */
const TERMINAL_CORRECTION = "corrected by the owner at the terminal";
const ALLERGIES: FactCategory[] = ["drug_allergy", "food_allergy"];

/** One `family record` request, its member resolved. */
interface Request {
  archive: FamilyArchive;
  member: Member;
  kind: RecordKind;
  table: EntryTable;
  subject: string | undefined;
  flags: RecordFlags;
  today: string;
}

/** Adds `medbot family record` to the family command group. */
export function registerFamilyRecord(family: Command): void {
  family
    .command("record <member> <kind> <action> [name-or-id]")
    .description(
      "keep a record without the model: allergy|condition add|correct|remove, medication add|correct|stop|remove, symptom add|correct|end|remove",
    )
    .option("--name <text>", "correct: the new name")
    .option("--details <text>", "allergy, condition: details (the reaction, how it is controlled)")
    .option("--since <when>", "allergy, condition: since a year, month or day (2019, 2019-04, 2019-04-12)")
    .option("--food", "allergy add: a food allergy (default: a drug allergy)")
    .option("--dose <dose>", 'medication: e.g. "500 mg"')
    .option("--route <route>", "medication: e.g. oral")
    .option("--frequency <text>", 'medication: e.g. "twice daily"')
    .option("--times <HH:MM,...>", "medication: times of day; each active one gets a reminder")
    .option("--start <date>", "medication: start date")
    .option("--reason <text>", "medication: why it is taken (stop: why it stopped); remove: why (required)")
    .option("--date <date>", "medication stop: the day it stopped (default today)")
    .option("--onset <when>", "symptom: when it began, a day or date-time (default today)")
    .option("--ended <when>", "symptom: when it ended")
    .option("--severity <text>", "symptom: e.g. mild")
    .option("--notes <text>", "symptom: notes")
    .option("--at <when>", "symptom end: when it ended (default today)")
    .addHelpText("after", EXAMPLES)
    .action(
      async (
        ref: string,
        kindText: string,
        action: string,
        subject: string | undefined,
        _o,
        command: Command,
      ) => {
        const options = command.optsWithGlobals<GlobalOptions & RecordFlags>();
        const kind = recordKind(kindText);
        checkAction(kind, action, options);
        const line = await withArchive(options, ({ archive }) => {
          const member = archive.member(actor, ref);
          const today = todayIn(member.timezone ?? hostTimeZone(), archive.clock());
          const request = {
            archive,
            member,
            kind,
            table: RECORD_KINDS[kind],
            subject,
            flags: options,
            today,
          };
          return ACTIONS[action as keyof typeof ACTIONS](request);
        });
        process.stdout.write(`${line}\n`);
      },
    );
}

const ACTIONS = { add, correct, stop, end, remove };

const EXAMPLES = `
Examples:
  medbot family record dad allergy add penicillin --details rash --since 2019
  medbot family record dad condition add "type 2 diabetes" --since 2018
  medbot family record dad medication add metformin --dose "500 mg" --frequency "twice daily" --times 08:00,20:00
  medbot family record dad medication correct medication:5 --dose "1000 mg"
  medbot family record dad medication stop medication:6 --reason "stomach upset"
  medbot family record mum symptom add headache --onset "2026-12-01 08:00" --severity mild
  medbot family record mum symptom end symptom:3 --at "2026-12-01 14:00"
  medbot family record dad allergy remove fact:12 --reason "entered for the wrong person"
Ids are the ones medbot family show prints. What you record here is confirmed, and audited on channel cli.`;

function add(r: Request): string {
  const name = r.subject?.trim();
  if (!name) {
    throw new CliFailure(
      `${r.kind} add needs the ${r.kind}'s name, e.g. medbot family record ${r.member.id} ${r.kind} add ${EXAMPLE[r.kind]}.`,
    );
  }
  const fields = newFields(r, name);
  const { entry } = r.archive.add(actor, r.member.id, r.table, fields, "confirmed");
  return `Added to ${r.member.displayName}'s record: ${describe(r.table, entry)}`;
}

const EXAMPLE: Record<RecordKind, string> = {
  allergy: "penicillin",
  condition: '"type 2 diabetes"',
  medication: 'metformin --dose "500 mg"',
  symptom: "headache",
};

function newFields(r: Request, name: string): EntryFields[EntryTable] {
  const f = r.flags;
  if (r.table === "facts") {
    const category = r.kind === "condition" ? "condition" : f.food ? "food_allergy" : "drug_allergy";
    return {
      category,
      text: name,
      details: optionalText(f.details) ?? null,
      since: f.since === undefined ? null : sinceDate(f.since, r.today),
    };
  }
  if (r.table === "medications") {
    return {
      name,
      dose: optionalText(f.dose) ?? null,
      route: optionalText(f.route) ?? null,
      frequency: optionalText(f.frequency) ?? null,
      timesOfDay: f.times === undefined ? [] : timesOfDay(f.times),
      timezone: null,
      startDate: f.start === undefined ? null : recordDate(f.start, "start"),
      stopDate: null,
      reason: optionalText(f.reason) ?? null,
      state: "active",
    };
  }
  const onset = f.onset === undefined ? r.today : recordDate(f.onset, "onset", r.today);
  const ended = f.ended === undefined ? null : recordDate(f.ended, "ended", r.today);
  if (ended) checkEnd(ended, onset, "--ended");
  return {
    name,
    onset,
    ended,
    severity: optionalText(f.severity) ?? null,
    notes: optionalText(f.notes) ?? null,
  };
}

function correct(r: Request): string {
  const old = current(r);
  const patch = Object.fromEntries(
    Object.entries(changedFields(r)).filter(([, value]) => value !== undefined),
  ) as Partial<EntryFields[EntryTable]>;
  if (Object.keys(patch).length === 0) {
    throw new CliFailure(
      `Nothing to correct: give the new values (medbot family record --help lists the flags of ${r.kind} correct).`,
    );
  }
  if (r.table === "symptoms") {
    const merged = { ...(old as Entry<"symptoms">), ...(patch as Partial<EntryFields["symptoms"]>) };
    if (merged.ended) checkEnd(merged.ended, merged.onset, "--ended");
  }
  const how = { kind: "correct", reason: TERMINAL_CORRECTION, status: "confirmed" } as const;
  const { entry } = r.archive.revise(actor, r.member.id, r.table, old.id, patch, how);
  return `Corrected in ${r.member.displayName}'s record: ${describe(r.table, entry, old.id)}`;
}

/** Only the fields the flags name, checked; an empty optional value clears the field. */
function changedFields(r: Request): Record<string, unknown> {
  const f = r.flags;
  const name = f.name === undefined ? undefined : f.name.trim();
  if (name === "") throw new CliFailure("--name is empty.");
  if (r.table === "facts") {
    return {
      text: name,
      details: optionalText(f.details),
      since: f.since === undefined ? undefined : sinceDate(f.since, r.today),
    };
  }
  if (r.table === "medications") {
    return {
      name,
      dose: optionalText(f.dose),
      route: optionalText(f.route),
      frequency: optionalText(f.frequency),
      timesOfDay: f.times === undefined ? undefined : f.times.trim() ? timesOfDay(f.times) : [],
      startDate: f.start === undefined ? undefined : recordDate(f.start, "start"),
      reason: optionalText(f.reason),
    };
  }
  return {
    name,
    onset: f.onset === undefined ? undefined : recordDate(f.onset, "onset", r.today),
    ended: f.ended === undefined ? undefined : f.ended.trim() ? recordDate(f.ended, "ended", r.today) : null,
    severity: optionalText(f.severity),
    notes: optionalText(f.notes),
  };
}

/** Stops a medication: a new version, stopped on the day given (default today), with why if given. */
function stop(r: Request): string {
  const old = current(r) as Entry<"medications">;
  if (old.state === "stopped") {
    throw new CliFailure(
      `medication:${old.id} was already stopped${old.stopDate ? ` on ${old.stopDate}` : ""}.`,
    );
  }
  const stopDate = r.flags.date === undefined ? r.today : recordDate(r.flags.date, "date");
  if (old.startDate && isBefore(stopDate, old.startDate)) {
    throw new CliFailure(`--date ${stopDate} is before the medication's start (${old.startDate}).`);
  }
  const reason = stoppedReason(old.reason, optionalText(r.flags.reason));
  const patch = { state: "stopped", stopDate, ...(reason ? { reason } : {}) } as const;
  const how = { kind: "update", status: "confirmed" } as const;
  const { entry } = r.archive.revise(actor, r.member.id, "medications", old.id, patch, how);
  return `Stopped in ${r.member.displayName}'s record: ${describe("medications", entry, old.id)}`;
}

/** Ends a symptom episode at the time given (default today). */
function end(r: Request): string {
  const old = current(r) as Entry<"symptoms">;
  if (old.ended)
    throw new CliFailure(`symptom:${old.id} already ended (${old.ended}); use correct --ended to change it.`);
  const ended = r.flags.at === undefined ? r.today : recordDate(r.flags.at, "at", r.today);
  checkEnd(ended, old.onset, "--at");
  const how = { kind: "update", status: "confirmed" } as const;
  const { entry } = r.archive.revise(actor, r.member.id, "symptoms", old.id, { ended }, how);
  return `Ended in ${r.member.displayName}'s record: ${describe("symptoms", entry, old.id)}`;
}

/** Removes an entry entered by mistake; the row stays in the history with the reason. */
function remove(r: Request): string {
  const reason = r.flags.reason?.trim();
  if (!reason) throw new CliFailure(`--reason is required to remove an entry (it is kept in its history).`);
  const old = current(r);
  r.archive.remove(actor, r.member.id, r.table, old.id, reason);
  return `Removed from ${r.member.displayName}'s record: ${ENTRY_NOUN[r.table]}:${old.id} (kept in its history).`;
}

/**
 * The entry the id names, for a change. Unknown ids, ids of another member and removed or replaced versions
 * are refused by the archive's own checks when the change is made; here a fact of another category is refused.
 */
function current(r: Request): Entry<EntryTable> {
  const noun = ENTRY_NOUN[r.table];
  if (!r.subject)
    throw new CliFailure(`Give the ${noun} id, like ${noun}:5 (see medbot family show ${r.member.id}).`);
  const id = entryId(r.subject, noun);
  const entry = getEntry(r.archive.db, r.table, id);
  if (!entry || entry.memberId !== r.member.id) {
    throw new CliFailure(`There is no ${noun} #${id} in ${r.member.displayName}'s record.`);
  }
  if (r.table === "facts") {
    const category = (entry as Entry<"facts">).category;
    const fits = r.kind === "allergy" ? ALLERGIES.includes(category) : category === "condition";
    if (!fits)
      throw new CliFailure(
        `fact:${id} is a ${category.replace(/_/g, " ")}, not ${r.kind === "allergy" ? "an allergy" : "a condition"}.`,
      );
  }
  return entry;
}

function checkEnd(ended: string, onset: string, flag: string): void {
  if (isBefore(ended, onset))
    throw new CliFailure(`${flag} ${ended} is before the symptom's onset (${onset}).`);
}

/** "medication:6 (replaces medication:5) metformin, 1000 mg, twice daily [confirmed]". */
function describe(table: EntryTable, entry: Entry<EntryTable>, replaced?: number): string {
  const noun = ENTRY_NOUN[table];
  return `${noun}:${entry.id}${replaced === undefined ? "" : ` (replaces ${noun}:${replaced})`} ${entryLine(table, entry)}`;
}
