// family_record: read and change one member's health record (facts, symptom events, medications) and the
// household's members. Every change is one audited transaction and the reply names the member changed.
import { z } from "zod";
import { type Actor, NO_MEMBER_ACCESS } from "../../access/actor.js";
import { ArchiveError, ENTRY_NOUN, type FamilyArchive } from "../../archive/archive.js";
import {
  type Entry,
  type EntryFields,
  type EntryTable,
  FACT_CATEGORIES,
  REVIEW_STATUSES,
  stoppedReason,
} from "../../archive/entries.js";
import type { Member } from "../../archive/members.js";
import { describeSummary, memberTimeZone, summariseMetrics } from "../../archive/metrics.js";
import { hostTimeZone, isTimeZone, localDay, parseRecordDate, todayIn } from "../../time/dates.js";
import { defineTool } from "./tool.js";

const TABLE = { fact: "facts", symptom: "symptoms", medication: "medications" } as const;
const TIME_OF_DAY = /^([01]\d|2[0-3]):[0-5]\d$/;

const parameters = z.object({
  action: z.enum([
    "members",
    "show",
    "add",
    "update",
    "correct",
    "remove",
    "stop",
    "history",
    "add_member",
    "update_member",
  ]),
  member: z.string().optional().describe("id, name or alias"),
  kind: z.enum(["fact", "symptom", "medication"]).optional(),
  id: z.number().int().optional().describe("entry id from show"),
  category: z.enum(FACT_CATEGORIES).optional().describe("for facts"),
  text: z.string().optional().describe("fact text, symptom or medication name, or member name"),
  details: z.string().optional().describe("fact details or symptom notes"),
  date: z.string().optional().describe("YYYY-MM-DD: fact since, symptom onset, medication start or stop"),
  ended: z.string().optional().describe("symptom end date"),
  severity: z.string().optional(),
  dose: z.string().optional(),
  route: z.string().optional(),
  frequency: z.string().optional(),
  times: z.array(z.string().regex(TIME_OF_DAY, "HH:MM")).optional().describe("medication times of day"),
  indication: z.string().optional().describe("why the medication is taken"),
  reason: z.string().optional().describe("required to correct, remove"),
  status: z
    .enum(REVIEW_STATUSES)
    .optional()
    .describe("default reported; unreviewed if you captured it unasked"),
  profile: z
    .object({
      relationship: z.string(),
      sex: z.enum(["female", "male", "other"]),
      birth_date: z.string(),
      blood_type: z.string(),
      emergency_contact: z.string(),
      timezone: z.string(),
      aliases: z.array(z.string()),
    })
    .partial()
    .optional()
    .describe("member fields"),
});
type Args = z.infer<typeof parameters>;

export const familyRecord = defineTool({
  name: "family_record",
  description:
    "Read or change a family member's health record: facts, symptom events, medications; list or add members. " +
    "Changes keep history.",
  parameters,
  run(args, { archive, actor }) {
    switch (args.action) {
      case "members":
        return listMembers(archive, actor);
      case "show":
        return showRecord(archive, actor, need(args.member, "member"));
      case "add_member":
        return addMember(archive, actor, args);
      case "update_member":
        return updateMember(archive, actor, args);
      case "add":
        return addEntry(archive, actor, args);
      case "history":
        return entryHistoryText(archive, actor, args);
      default:
        return changeEntry(archive, actor, args);
    }
  },
});

function need<T>(value: T | undefined, name: string): T {
  if (value === undefined || (typeof value === "string" && !value.trim())) {
    throw new ArchiveError(`"${name}" is required for this action.`);
  }
  return value;
}

function tableOf(args: Args): EntryTable {
  return TABLE[need(args.kind, "kind")];
}

function day(text: string | undefined, what: string): string | null {
  return text === undefined ? null : parseRecordDate(text, what);
}

function listMembers(archive: FamilyArchive, actor: Actor): string {
  const members = archive.members(actor);
  if (members.length === 0 && actor.grants !== "*") return NO_MEMBER_ACCESS;
  if (members.length === 0) return "No family members are recorded yet (use add_member).";
  return members.map((m) => `${m.displayName} (id ${m.id}${describeMember(m)})`).join("\n");
}

function describeMember(member: Member): string {
  const parts = [member.relationship, member.aliases.length ? `aka ${member.aliases.join(", ")}` : ""];
  return parts
    .filter(Boolean)
    .map((p) => `; ${p}`)
    .join("");
}

/** The member fields the arguments give, checked (dates real, timezone known). */
function profileOf(args: Args) {
  const p = args.profile ?? {};
  return {
    relationship: p.relationship,
    sex: p.sex,
    birthDate: p.birth_date === undefined ? undefined : parseRecordDate(p.birth_date, "birth_date"),
    bloodType: p.blood_type,
    emergencyContact: p.emergency_contact,
    timezone: p.timezone === undefined ? undefined : checkedTimeZone(p.timezone),
    aliases: p.aliases,
  };
}

function addMember(archive: FamilyArchive, actor: Actor, args: Args): string {
  const displayName = need(args.text, "text (the member's name)");
  const member = archive.addMember(actor, { displayName, ...profileOf(args) });
  return `Added member ${member.displayName} (id ${member.id}).`;
}

function updateMember(archive: FamilyArchive, actor: Actor, args: Args): string {
  const member = archive.updateMember(actor, need(args.member, "member"), {
    displayName: args.text,
    ...profileOf(args),
  });
  return `Updated ${member.displayName}'s profile.`;
}

function checkedTimeZone(zone: string): string {
  if (!isTimeZone(zone)) throw new ArchiveError(`"${zone}" is not an IANA timezone (like Europe/Berlin).`);
  return zone;
}

/** The fields of a new entry from the arguments; required ones are checked. */
function newFields(table: EntryTable, args: Args, today: string): EntryFields[EntryTable] {
  if (table === "facts") {
    return {
      category: need(args.category, "category"),
      text: need(args.text, "text"),
      details: args.details ?? null,
      since: day(args.date, "date"),
    };
  }
  if (table === "symptoms") {
    return {
      name: need(args.text, "text (the symptom)"),
      onset: day(args.date, "date") ?? today,
      ended: day(args.ended, "ended"),
      severity: args.severity ?? null,
      notes: args.details ?? null,
    };
  }
  return {
    name: need(args.text, "text (the medication)"),
    dose: args.dose ?? null,
    route: args.route ?? null,
    frequency: args.frequency ?? null,
    timesOfDay: args.times ?? [],
    timezone: null,
    startDate: day(args.date, "date"),
    stopDate: null,
    reason: args.indication ?? null,
    state: "active",
  };
}

/** Only the fields the arguments name, for an update or correction. */
function patchFields(table: EntryTable, args: Args): Record<string, unknown> {
  const common =
    table === "facts"
      ? { category: args.category, text: args.text, details: args.details, since: args.date }
      : table === "symptoms"
        ? {
            name: args.text,
            onset: args.date,
            ended: args.ended,
            severity: args.severity,
            notes: args.details,
          }
        : {
            name: args.text,
            dose: args.dose,
            route: args.route,
            frequency: args.frequency,
            timesOfDay: args.times,
            startDate: args.date,
            reason: args.indication,
          };
  const dated = new Set(["since", "onset", "ended", "startDate"]);
  return Object.fromEntries(
    Object.entries(common)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, dated.has(k) ? parseRecordDate(String(v), k) : v]),
  );
}

function addEntry(archive: FamilyArchive, actor: Actor, args: Args): string {
  const table = tableOf(args);
  const member = archive.member(actor, need(args.member, "member"));
  const fields = newFields(table, args, todayIn(member.timezone ?? hostTimeZone(), archive.clock()));
  const { entry } = archive.add(actor, member.id, table, fields, args.status ?? "reported");
  return `Saved for ${member.displayName}: ${ENTRY_NOUN[table]} #${entry.id} ${entryLine(table, entry)}.`;
}

function changeEntry(archive: FamilyArchive, actor: Actor, args: Args): string {
  const table = tableOf(args);
  const ref = need(args.member, "member");
  const id = need(args.id, "id");
  const noun = ENTRY_NOUN[table];
  if (args.action === "remove") {
    const { member } = archive.remove(actor, ref, table, id, need(args.reason, "reason"));
    return `Removed ${noun} #${id} from ${member.displayName}'s record (kept in history).`;
  }
  if (args.action === "stop") {
    if (table !== "medications") throw new ArchiveError("Only a medication can be stopped.");
    const member = archive.member(actor, ref);
    const stopDate = day(args.date, "date") ?? todayIn(member.timezone ?? hostTimeZone(), archive.clock());
    const old = archive.current(actor, member.id, table).find((m) => m.id === id);
    const reason = stoppedReason(old?.reason, args.reason);
    const patch = { state: "stopped", stopDate, ...(reason ? { reason } : {}) } as const;
    const { entry } = archive.revise(actor, member.id, table, id, patch, { kind: "update" });
    return `Stopped for ${member.displayName}: medication #${entry.id} ${entryLine(table, entry)}.`;
  }
  const kind = args.action === "correct" ? "correct" : "update";
  const patch = patchFields(table, args) as Partial<EntryFields[typeof table]>;
  if (Object.keys(patch).length === 0 && !args.status)
    throw new ArchiveError("Nothing to change: give the new values.");
  const { member, entry } = archive.revise(actor, ref, table, id, patch, {
    kind,
    reason: args.reason,
    status: args.status,
  });
  return `${kind === "correct" ? "Corrected" : "Updated"} for ${member.displayName}: ${noun} #${entry.id} (was #${id}) ${entryLine(table, entry)}.`;
}

function entryHistoryText(archive: FamilyArchive, actor: Actor, args: Args): string {
  const table = tableOf(args);
  const member = archive.member(actor, need(args.member, "member"));
  const versions = archive.history(actor, member.id, table, need(args.id, "id"));
  const day = (stamp: string) => localDay(stamp, member.timezone ?? hostTimeZone());
  return versions
    .map((v) => {
      const state = v.removedAt
        ? ` removed ${day(v.removedAt)}: ${v.removedReason}`
        : v.replacedBy
          ? " replaced"
          : " current";
      const why = v.changeReason ? ` (changed: ${v.changeReason})` : "";
      return `#${v.id} ${day(v.createdAt)} ${entryLine(table, v)}${why}${state}`;
    })
    .join("\n");
}

/** One line describing an entry. */
export function entryLine(table: EntryTable, entry: Entry<EntryTable>): string {
  const e = entry as Entry<EntryTable> & Record<string, unknown>;
  const bits: unknown[] =
    table === "facts"
      ? [`${e.category}: ${e.text}`, e.details, e.since && `since ${e.since}`]
      : table === "symptoms"
        ? [e.name, `from ${e.onset}`, e.ended && `to ${e.ended}`, e.severity, e.notes]
        : [
            e.name,
            e.dose,
            e.route,
            e.frequency,
            (e.timesOfDay as string[]).length ? `at ${(e.timesOfDay as string[]).join(", ")}` : "",
            e.startDate && `from ${e.startDate}`,
            e.stopDate && `stopped ${e.stopDate}`,
            e.reason && `for ${e.reason}`,
          ];
  return `${bits.filter(Boolean).join(", ")} [${entry.status}]`;
}

function showRecord(archive: FamilyArchive, actor: Actor, ref: string): string {
  const member = archive.member(actor, ref);
  const lines = [`${member.displayName} (id ${member.id}${describeMember(member)})`];
  const profile = [
    member.sex,
    member.birthDate && `born ${member.birthDate}`,
    member.bloodType && `blood ${member.bloodType}`,
  ].filter(Boolean);
  if (profile.length) lines.push(profile.join(", "));
  for (const table of ["facts", "medications", "symptoms"] as const) {
    const entries = archive.current(actor, member.id, table).slice(0, table === "symptoms" ? 30 : 200);
    if (entries.length === 0) continue;
    lines.push(`${ENTRY_NOUN[table]}s:`);
    for (const entry of entries) lines.push(`  #${entry.id} ${entryLine(table, entry)}`);
  }
  // Readings are summarised per kind (count, latest, range): listing years of them would crowd the turn.
  const readings = summariseMetrics(archive.db, member.id);
  if (readings.length) {
    const zone = memberTimeZone(archive.db, member.id);
    lines.push("readings:", ...readings.map((s) => `  ${describeSummary(s, zone)}`));
  }
  if (lines.length === 1 || (lines.length === 2 && profile.length)) lines.push("Nothing recorded yet.");
  return lines.join("\n");
}
