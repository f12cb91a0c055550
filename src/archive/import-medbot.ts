// Moves a MedBot (Python) family/ folder into the archive. Everything arrives as "reported", by the host's
// owner through the "import" channel. Importing again adds only what is not there yet: an item is skipped
// when any version of it (current, corrected or removed) is already in the member's record, so a re-import
// after more MedBot use picks up the new lines, and a correction or rejection made here is never undone.
// Which member each MedBot folder goes into is decided first (medbot-duplicates.ts): a likely duplicate of a
// member already here stops the import before anything is written, until --map says where it goes.

import { type Actor, hostOwner } from "../access/actor.js";
import { writeTransaction } from "../storage/db.js";
import { ArchiveError, type FamilyArchive } from "./archive.js";
import { type EntryFields, type EntryTable, insertEntry } from "./entries.js";
import { type MemberTarget, planMembers } from "./medbot-duplicates.js";
import type { MedbotMember, SourceProblem } from "./medbot-format.js";
import { readMedbotFamily } from "./medbot-workspace.js";
import { type Member, memberAnswering, nameKey } from "./members.js";
import { findKind, parseReading } from "./metric-kinds.js";
import { contextOrNote } from "./metric-units.js";
import { parseMeasuredAt, recordMetric, zoneOf } from "./metrics.js";
import { ingestReport } from "./reports.js";

export interface ImportCounts {
  facts: number;
  symptoms: number;
  medications: number;
  metrics: number;
  reports: number;
}

/** What the import did for one MedBot member folder. */
export interface MemberImport {
  folder: string;
  id: string;
  displayName: string;
  /** False when the member was already in the archive (its profile is then left as it is). */
  created: boolean;
  /** True when --map sent this MedBot member into an existing member. */
  mapped: boolean;
  imported: ImportCounts;
  /** Items skipped because the record already holds them (an earlier import, or entered here). */
  alreadyPresent: number;
}

export interface ImportOptions {
  /** Who imports (default: the host's owner through the "import" channel). */
  actor?: Actor;
  /** MedBot member id -> archive member (id, name or alias) to import into, or "new". */
  map?: Record<string, string>;
}

export interface ImportReport {
  familyDir: string;
  members: MemberImport[];
  problems: SourceProblem[];
}

/**
 * Imports every member folder under `familyDir` (a MedBot workspace's family/): profile, facts, symptoms,
 * medications and readings in one transaction per member, then report files (copied into `workspace`).
 */
export async function importMedbotFamily(
  archive: FamilyArchive,
  familyDir: string,
  workspace: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const actor = options.actor ?? hostOwner("import");
  const report: ImportReport = { familyDir, members: [], problems: [] };
  const sources: MedbotMember[] = [];
  for (const source of readMedbotFamily(familyDir)) {
    report.problems.push(...source.problems);
    if (nothingReadable(source))
      report.problems.push({ file: source.folder, line: null, reason: "nothing readable; member not added" });
    else sources.push(source);
  }
  // Every folder's member is decided before anything is written: a likely duplicate stops the whole import.
  const plan = planMembers(archive.db, actor, sources, options.map ?? {});
  for (const source of sources) {
    const target = plan.get(source)!;
    if (target.kind === "skip") {
      report.problems.push({ file: source.folder, line: null, reason: target.reason });
      continue;
    }
    const done = writeTransaction(archive.db, () =>
      importMember(archive, actor, source, target, report.problems),
    );
    const reports = await importReports(archive, actor, done.id, source, workspace, report.problems);
    done.imported.reports = reports.imported;
    done.alreadyPresent += reports.present;
    report.members.push(done);
  }
  report.problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
  return report;
}

/** Report files through the archive's own ingest (stored privately, one audited row each). */
async function importReports(
  archive: FamilyArchive,
  actor: Actor,
  memberId: string,
  source: MedbotMember,
  workspace: string,
  problems: SourceProblem[],
): Promise<{ imported: number; present: number }> {
  const rows = archive.db
    .prepare("SELECT title, report_date AS reportDate FROM reports WHERE member_id = ?")
    .all(memberId) as { title: string; reportDate: string | null }[];
  const known = new Set(rows.map((r) => `${nameKey(r.title)}|${r.reportDate}`));
  let imported = 0;
  let present = 0;
  for (const file of source.reports) {
    const key = `${nameKey(file.title)}|${file.reportDate}`;
    if (known.has(key)) {
      present++;
      continue;
    }
    const input = { file: file.absolutePath, title: file.title, reportDate: file.reportDate ?? undefined };
    try {
      await ingestReport(archive, actor, memberId, { ...input, status: "reported" }, workspace);
      known.add(key);
      imported++;
    } catch (error) {
      if (!(error instanceof ArchiveError)) throw error;
      problems.push({ file: file.file, line: null, reason: error.message });
    }
  }
  return { imported, present };
}

/** A folder that yielded no entry, reading, report or identity field (only unreadable lines). */
function nothingReadable(source: MedbotMember): boolean {
  const found = [source.facts, source.symptoms, source.medications, source.metrics, source.reports];
  return source.profileFields === 0 && found.every((items) => items.length === 0);
}

/** True when the import stored or found anything at all (the CLI's exit status). */
export function importedAnything(report: ImportReport): boolean {
  return report.members.some(
    (m) => m.created || m.alreadyPresent > 0 || Object.values(m.imported).some((n) => n > 0),
  );
}

function importMember(
  archive: FamilyArchive,
  actor: Actor,
  source: MedbotMember,
  target: Exclude<MemberTarget, { kind: "skip" }>,
  problems: SourceProblem[],
): MemberImport {
  const existing = target.kind === "existing" ? target.member : undefined;
  const member: Member =
    existing ??
    archive.addMember(actor, {
      ...source.profile,
      id: target.kind === "new" ? target.id : undefined,
      // An alias already naming someone here would make that name ambiguous (an import --map ...=new).
      aliases: source.profile.aliases.filter((alias) => !memberAnswering(archive.db, alias)),
    });
  const known = recordedKeys(archive, member.id);
  const fresh = <T extends EntryTable>(table: T, items: EntryFields[T][]) =>
    items.filter((item) => {
      const key = entryKey(table, item);
      if (known.has(key)) return false;
      known.add(key);
      return true;
    });
  const facts = fresh(
    "facts",
    source.facts.map((f) => ({ ...f, since: null })),
  );
  const symptoms = fresh("symptoms", source.symptoms);
  const medications = fresh("medications", source.medications);
  const total = source.facts.length + source.symptoms.length + source.medications.length;
  let alreadyPresent = total - facts.length - symptoms.length - medications.length;
  const entries = facts.length + symptoms.length + medications.length;
  if (entries > 0) {
    const event = {
      action: "member.import",
      memberId: member.id,
      entity: "member",
      entityId: member.id,
      note: `from MedBot: ${facts.length} facts, ${symptoms.length} symptoms, ${medications.length} medications`,
    };
    archive.change(actor, event, (auditSeq, createdAt) => {
      const meta = { memberId: member.id, status: "reported" as const, createdAt, auditSeq };
      for (const fact of facts) insertEntry(archive.db, "facts", fact, meta);
      for (const symptom of symptoms) insertEntry(archive.db, "symptoms", symptom, meta);
      for (const medication of medications) insertEntry(archive.db, "medications", medication, meta);
    });
  }
  let metrics = 0;
  for (const reading of source.metrics) {
    const problem = (reason: string) => problems.push({ file: reading.file, line: reading.line, reason });
    try {
      const key = metricKey(archive, member, reading);
      if (key && known.has(key)) {
        alreadyPresent++;
        continue;
      }
      const input = { kind: reading.kind, value: reading.value, unit: reading.unit, at: reading.at };
      const said = contextOrNote(findKind(archive.db, reading.kind), reading.context);
      const note = [reading.note, said.note].filter(Boolean).join("; ") || undefined;
      recordMetric(archive, actor, member.id, { ...input, note, context: said.context, status: "reported" });
      if (key) known.add(key);
      metrics++;
    } catch (error) {
      if (!(error instanceof ArchiveError)) throw error;
      problem(error.message);
    }
  }
  const profile = importProfileReadings(archive, actor, member, source, problems);
  return {
    folder: source.folder,
    id: member.id,
    displayName: member.displayName,
    created: !existing,
    mapped: target.kind === "existing" && target.mapped,
    imported: {
      facts: facts.length,
      symptoms: symptoms.length,
      medications: medications.length,
      metrics: metrics + profile.imported,
      reports: 0,
    },
    alreadyPresent: alreadyPresent + profile.present,
  };
}

/**
 * record.md's weight and height become readings only when new: no reading of that kind with that value is
 * in the member's record, whatever its date (MedBot rewrites record.md on every update). A new one is dated
 * the day of the import and noted "from MedBot profile", as "Last updated" says when the file changed, not
 * when anyone was weighed.
 */
function importProfileReadings(
  archive: FamilyArchive,
  actor: Actor,
  member: Member,
  source: MedbotMember,
  problems: SourceProblem[],
): { imported: number; present: number } {
  const held = archive.db.prepare(
    "SELECT 1 FROM metrics WHERE member_id = ? AND kind = ? AND value = ? AND value2 IS ?",
  );
  let imported = 0;
  let present = 0;
  for (const reading of source.profileReadings) {
    try {
      const def = findKind(archive.db, reading.kind);
      // A kind not known yet (height, unless someone started it) has no readings to repeat.
      const parsed = def && parseReading(def, reading.value);
      if (def && parsed && held.get(member.id, def.kind, parsed.value, parsed.value2)) {
        present++;
        continue;
      }
      const note = "from MedBot profile (record.md; measurement date unknown, dated the day of the import)";
      const input = { kind: reading.kind, value: reading.value, note, status: "reported" as const };
      recordMetric(archive, actor, member.id, input);
      imported++;
    } catch (error) {
      if (!(error instanceof ArchiveError)) throw error;
      problems.push({ file: reading.file, line: reading.line, reason: error.message });
    }
  }
  return { imported, present };
}

/** Identity of an entry for the re-import check: what it is, not how it was worded around it. */
function entryKey<T extends EntryTable>(table: T, item: EntryFields[T]): string {
  const e = item as unknown as Record<string, string | null>;
  if (table === "facts") return `fact|${e.category}|${nameKey(e.text ?? "")}`;
  if (table === "symptoms") return `symptom|${nameKey(e.name ?? "")}|${e.onset}`;
  return `medication|${nameKey(e.name ?? "")}|${e.startDate ?? ""}`;
}

/** Every version ever recorded for the member (current, replaced and removed), as keys. */
function recordedKeys(archive: FamilyArchive, memberId: string): Set<string> {
  const db = archive.db;
  const rows = <T>(sql: string) => db.prepare(sql).all(memberId) as T[];
  const keys = new Set<string>();
  for (const f of rows<EntryFields["facts"]>("SELECT category, text FROM facts WHERE member_id = ?"))
    keys.add(entryKey("facts", f));
  for (const s of rows<EntryFields["symptoms"]>("SELECT name, onset FROM symptoms WHERE member_id = ?"))
    keys.add(entryKey("symptoms", s));
  for (const m of rows<EntryFields["medications"]>(
    "SELECT name, start_date AS startDate FROM medications WHERE member_id = ?",
  ))
    keys.add(entryKey("medications", m));
  const readings = rows<{ kind: string; measuredAt: string; value: number; value2: number | null }>(
    "SELECT kind, measured_at AS measuredAt, value, value2 FROM metrics WHERE member_id = ?",
  );
  for (const r of readings) keys.add(`metric|${r.kind}|${r.measuredAt}|${r.value}|${r.value2}`);
  return keys;
}

/** The key a reading will have once stored (kind, instant, canonical value); undefined for a new kind. */
function metricKey(
  archive: FamilyArchive,
  member: Member,
  reading: MedbotMember["metrics"][number],
): string | undefined {
  const def = findKind(archive.db, reading.kind);
  if (!def) return undefined;
  const parsed = parseReading(def, reading.value, reading.unit);
  const at = parseMeasuredAt(reading.at, zoneOf(member.timezone), archive.clock());
  return `metric|${def.kind}|${at}|${parsed.value}|${parsed.value2}`;
}
