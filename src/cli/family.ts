import type { Command } from "commander";
import { hostOwner } from "../access/actor.js";
import { entryLine } from "../agent/tools/family-record.js";
import { ENTRY_NOUN, type FamilyArchive, type NewMember } from "../archive/archive.js";
import { currentEntries, type Entry, type EntryTable, FACT_CATEGORIES } from "../archive/entries.js";
import { invalidMemberId, type Member } from "../archive/members.js";
import { describeReading, kindOf, memberTimeZone, summariseMetrics } from "../archive/metrics.js";
import { CATEGORY_TITLE } from "../archive/record-text.js";
import { hostTimeZone, isTimeZone, parseRecordDate, todayIn } from "../time/dates.js";
import { withArchive } from "./archive-session.js";
import { registerRebuildViews } from "./export.js";
import { registerFamilyMembers } from "./family-members.js";
import { registerFamilyRecord } from "./family-record.js";
import { type ReviewOptions, review } from "./family-review.js";
import { CliFailure, type GlobalOptions } from "./startup.js";
import { table } from "./table.js";

const RECENT_SYMPTOMS = 20;

/** Registers the `family` command group. */
export function registerFamily(program: Command): void {
  const family = program
    .command("family")
    .description("the family's members and health records: list, show, add, review");

  family
    .command("list")
    .description("every member with what their record holds and how much awaits review")
    .option("--json", "machine-readable output")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { json?: boolean }>();
      const text = await withArchive(options, ({ archive }) => {
        const rows = archive.members(hostOwner("cli")).map((m) => ({
          id: m.id,
          displayName: m.displayName,
          relationship: m.relationship,
          aliases: m.aliases,
          counts: recordCounts(archive, m.id),
        }));
        if (options.json) return JSON.stringify(rows, null, 2);
        if (rows.length === 0) return "No family members yet. Add one with: medbot family add NAME";
        return table([
          ["ID", "NAME", "RELATION", "ALIASES", "FACTS", "SYMPTOMS", "MEDS", "METRICS", "TO REVIEW"],
          ...rows.map((r) => [
            r.id,
            r.displayName,
            r.relationship ?? "",
            r.aliases.join(", "),
            ...Object.values(r.counts).map(String),
          ]),
        ]);
      });
      process.stdout.write(`${text}\n`);
    });

  family
    .command("show <member>")
    .description("a member's profile and current record, with the ids to review or correct each entry")
    .option("--json", "machine-readable output")
    .action(async (ref: string, _options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { json?: boolean }>();
      const text = await withArchive(options, ({ archive }) => {
        const record = memberRecord(archive, archive.member(hostOwner("cli"), ref));
        return options.json ? JSON.stringify(record, null, 2) : recordText(archive, record);
      });
      process.stdout.write(`${text}\n`);
    });

  family
    .command("add <name>")
    .description("add a family member; prints the new member's id")
    .option("--id <id>", "the id to use (default: from the name; 爸爸 stays 爸爸)")
    .option("--relation <relationship>", "e.g. mother, father, self, son")
    .option("--alias <alias>", "another name for them (repeat for more)", collect, [])
    .option("--sex <sex>", "female, male or other")
    .option("--birth-date <YYYY-MM-DD>", "date of birth")
    .option("--blood-type <type>", "A, B, AB or O with + or -, e.g. O+")
    .option("--timezone <IANA>", "their time zone, e.g. Asia/Shanghai")
    .option("--emergency-contact <text>", "who to call, and how")
    .action(async (name: string, _options, command: Command) => {
      const options = command.optsWithGlobals<AddOptions>();
      const input = newMember(name, options, new Date());
      const member = await withArchive(
        options,
        ({ archive }) => {
          const taken = input.id && archive.members(hostOwner("cli")).find((m) => m.id === input.id);
          if (taken) throw new CliFailure(`--id "${input.id}" is already the id of ${taken.displayName}.`);
          return archive.addMember(hostOwner("cli"), input);
        },
        true,
      );
      process.stderr.write(`Added ${member.displayName} to the family (id ${member.id}).\n`);
      process.stdout.write(`${member.id}\n`);
    });

  family
    .command("review [member]")
    .description("list what awaits review (reported or unreviewed), or confirm / reject one item by its id")
    .option("--confirm <id>", "confirm an item, e.g. fact:12")
    .option("--reject <id>", "reject an item (removed, kept in its history), e.g. symptom:3")
    .option("--confirm-all", "confirm everything awaiting review (of MEMBER, of --kind)")
    .option("--kind <kind>", "only fact, allergy, condition, medication, symptom, metric or report")
    .option("--json", "machine-readable list")
    .action(async (ref: string | undefined, _options, command: Command) => {
      const options = command.optsWithGlobals<ReviewOptions>();
      process.stdout.write(`${await withArchive(options, ({ archive }) => review(archive, ref, options))}\n`);
    });

  registerFamilyRecord(family);
  registerRebuildViews(family);
  registerFamilyMembers(family);
}

interface AddOptions extends GlobalOptions {
  id?: string;
  relation?: string;
  alias: string[];
  sex?: string;
  birthDate?: string;
  bloodType?: string;
  timezone?: string;
  emergencyContact?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The new member's profile from the flags, each checked; a bad one is refused naming its flag. */
function newMember(name: string, o: AddOptions, now: Date): NewMember {
  if (!name.trim()) throw new CliFailure("The member's NAME is empty.");
  if (o.id !== undefined) {
    const problem = invalidMemberId(o.id);
    if (problem) throw new CliFailure(`--id: ${problem}`);
  }
  const sex = o.sex?.trim().toLowerCase();
  if (sex !== undefined && !["female", "male", "other"].includes(sex)) {
    throw new CliFailure(`--sex "${o.sex}" must be female, male or other.`);
  }
  const bloodType = o.bloodType?.trim().toUpperCase();
  if (bloodType !== undefined && !/^(A|B|AB|O)[+-]$/.test(bloodType)) {
    throw new CliFailure(`--blood-type "${o.bloodType}" must be A, B, AB or O followed by + or - (e.g. O+).`);
  }
  if (o.timezone !== undefined && !isTimeZone(o.timezone)) {
    throw new CliFailure(
      `--timezone "${o.timezone}" is not an IANA time zone (like Europe/Berlin or Asia/Shanghai).`,
    );
  }
  return {
    id: o.id,
    displayName: name.trim(),
    relationship: o.relation?.trim() || undefined,
    aliases: o.alias,
    sex,
    birthDate: o.birthDate === undefined ? undefined : birthDate(o.birthDate, o.timezone, now),
    bloodType,
    timezone: o.timezone,
    emergencyContact: o.emergencyContact?.trim() || undefined,
  };
}

function birthDate(text: string, timeZone: string | undefined, now: Date): string {
  let day: string;
  try {
    day = parseRecordDate(text, "--birth-date");
  } catch (error) {
    throw new CliFailure((error as Error).message);
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day))
    throw new CliFailure(`--birth-date "${text}" must be a day like 1961-05-02.`);
  const today = todayIn(timeZone ?? hostTimeZone(), now);
  if (day > today) throw new CliFailure(`--birth-date ${day} is in the future (today is ${today}).`);
  return day;
}

/** Current facts, symptom events, medications and readings of a member, and how many await review. */
export function recordCounts(archive: FamilyArchive, memberId: string) {
  const count = (sql: string) => (archive.db.prepare(sql).get(memberId) as { n: number }).n;
  const live = (table: string) =>
    `FROM ${table} WHERE member_id = ? AND replaced_by IS NULL AND removed_at IS NULL`;
  const pending = (["facts", "symptoms", "medications"] as const).reduce(
    (sum, table) => sum + count(`SELECT COUNT(*) AS n ${live(table)} AND status <> 'confirmed'`),
    0,
  );
  const metricsLive = "FROM metrics WHERE member_id = ? AND removed_at IS NULL";
  return {
    facts: count(`SELECT COUNT(*) AS n ${live("facts")}`),
    symptoms: count(`SELECT COUNT(*) AS n ${live("symptoms")}`),
    medications: count(`SELECT COUNT(*) AS n ${live("medications")}`),
    metrics: count(`SELECT COUNT(*) AS n ${metricsLive}`),
    awaitingReview:
      pending +
      count(`SELECT COUNT(*) AS n ${metricsLive} AND status <> 'confirmed'`) +
      count(
        "SELECT COUNT(*) AS n FROM reports WHERE member_id = ? AND removed_at IS NULL AND status <> 'confirmed'",
      ),
  };
}

function memberRecord(archive: FamilyArchive, member: Member) {
  const db = archive.db;
  const facts: Record<string, Entry<"facts">[]> = {};
  for (const fact of currentEntries(db, "facts", member.id)) {
    facts[fact.category] = [...(facts[fact.category] ?? []), fact];
  }
  return {
    member,
    facts,
    medications: currentEntries(db, "medications", member.id),
    recentSymptoms: currentEntries(db, "symptoms", member.id).slice(0, RECENT_SYMPTOMS),
    latestMetrics: summariseMetrics(db, member.id).map((s) => ({
      kind: s.kind,
      label: s.label,
      reading: s.latest,
    })),
    counts: recordCounts(archive, member.id),
  };
}

type MemberRecord = ReturnType<typeof memberRecord>;

function recordText(archive: FamilyArchive, record: MemberRecord): string {
  const { member, counts } = record;
  const zone = memberTimeZone(archive.db, member.id);
  const profile = [
    member.relationship,
    member.sex,
    member.birthDate && `born ${member.birthDate}`,
    member.bloodType && `blood type ${member.bloodType}`,
    member.timezone && `time zone ${member.timezone}`,
    member.emergencyContact && `emergency contact: ${member.emergencyContact}`,
  ].filter(Boolean);
  const lines = [
    `${member.displayName} (id ${member.id})${member.aliases.length ? `, also called ${member.aliases.join(", ")}` : ""}`,
  ];
  if (profile.length) lines.push(profile.join("; "));
  const entries = (title: string, table: EntryTable, list: Entry<EntryTable>[]) => {
    if (list.length)
      lines.push(
        "",
        `${title}:`,
        ...list.map((e) => `  ${ENTRY_NOUN[table]}:${e.id}  ${entryLine(table, e)}`),
      );
  };
  for (const category of FACT_CATEGORIES) {
    const facts = record.facts[category] ?? [];
    if (facts.length)
      lines.push("", `${CATEGORY_TITLE[category]}:`, ...facts.map((f) => `  fact:${f.id}  ${factText(f)}`));
  }
  entries("Medications", "medications", record.medications);
  entries(
    `Recent symptoms (${record.recentSymptoms.length} of ${counts.symptoms})`,
    "symptoms",
    record.recentSymptoms,
  );
  if (record.latestMetrics.length) {
    lines.push("", "Latest readings:");
    for (const m of record.latestMetrics) {
      const label = kindOf(archive.db, m.kind).label;
      lines.push(
        `  metric:${m.reading.id}  ${describeReading(m.reading, label, zone)} [${m.reading.status}]`,
      );
    }
  }
  if (lines.length <= 2) lines.push("", "Nothing recorded yet.");
  lines.push(
    "",
    counts.awaitingReview
      ? `${counts.awaitingReview} item(s) await review: medbot family review ${member.id}`
      : "Nothing awaits review.",
  );
  return lines.join("\n");
}

/** "hypertension — well controlled (since 2015) [reported]". */
function factText(fact: Entry<"facts">): string {
  const details = fact.details ? ` — ${fact.details}` : "";
  return `${fact.text}${details}${fact.since ? ` (since ${fact.since})` : ""} [${fact.status}]`;
}
