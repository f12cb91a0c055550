// Medical reports: a text, Markdown or PDF file, or pasted text, stored privately under
// family/<member id>/reports/ with a summary and key values. A report's text is data, never instructions.
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import type { Actor } from "../access/actor.js";
import type { Db } from "../storage/db.js";
import { writePrivateFile } from "../storage/private-fs.js";
import { hostTimeZone, parseRecordDate, todayIn } from "../time/dates.js";
import { ArchiveError, type FamilyArchive } from "./archive.js";
import { REVIEW_STATUSES, type ReviewStatus } from "./entries.js";
import { idFromName, type Member } from "./members.js";
import { readReportText } from "./report-reader.js";
import { REPORT_LIMITS } from "./report-text.js";

const MAX_REPORT_MB = REPORT_LIMITS.megabytes;
const MAX_REPORT_BYTES = MAX_REPORT_MB * 1024 * 1024;

/** One lab-style value of a report: "Glucose 6.1 mmol/L (3.9-6.1) high". */
export const keyValueSchema = z.strictObject({
  name: z.string().trim().min(1).max(80),
  value: z.string().trim().min(1).max(40),
  unit: z.string().trim().max(30).optional(),
  range: z.string().trim().max(40).optional(),
  flag: z.string().trim().max(20).optional(),
});
export type KeyValue = z.infer<typeof keyValueSchema>;

/** Where a report came from; never the original path (it may name people or places). */
export type ReportSource = "pdf" | "text" | "markdown" | "pasted";

export interface Report {
  id: number;
  memberId: string;
  title: string;
  reportDate: string | null;
  /** Workspace-relative path of the stored original (forward slashes). */
  file: string | null;
  source: ReportSource;
  summary: string;
  keyValues: KeyValue[];
  status: ReviewStatus;
  removedAt: string | null;
  removedReason: string | null;
  createdAt: string;
  auditSeq: number;
}

export interface ReportInput {
  /** Absolute path of a .txt, .md, .markdown or .pdf file, already confined by the caller. */
  file?: string;
  /** Pasted report text. Exactly one of file and text. */
  text?: string;
  title?: string;
  reportDate?: string;
  /** The caller's own summary (the model read the report); derived from the text when absent. */
  summary?: string;
  keyValues?: KeyValue[];
  /** Default: reported when the caller gave the summary, unreviewed when medbot derived it. */
  status?: ReviewStatus;
}

export interface IngestedReport {
  member: Member;
  report: Report;
  /** The text read from the report; empty when none could be read. */
  text: string;
  /** Workspace-relative path of the extracted text stored beside a PDF. */
  textFile: string | null;
  /** Why there is no text (a scanned PDF), for the reply. */
  note: string | null;
  /** Which parts medbot derived from the document itself (so they are document content, not the caller's). */
  derived: { summary: boolean; keyValues: boolean };
}

const EXTENSIONS: Record<string, ReportSource> = {
  ".txt": "text",
  ".md": "markdown",
  ".markdown": "markdown",
  ".pdf": "pdf",
};

const SCANNED_NOTE =
  "No text could be read from this PDF (it may be a scanned image). The file is stored; its summary and key values need someone who reads it.";

/**
 * Stores a report in a member's record: the original under family/<id>/reports/ (never overwriting), the
 * text extracted from a PDF beside it, and one audited row with the summary and key values.
 */
export async function ingestReport(
  archive: FamilyArchive,
  actor: Actor,
  memberRef: string,
  input: ReportInput,
  workspace: string,
): Promise<IngestedReport> {
  const member = archive.member(actor, memberRef);
  const hasFile = input.file !== undefined;
  if (hasFile === (input.text !== undefined)) {
    throw new ArchiveError("Give a report as either a file or pasted text, not both and not neither.");
  }
  const keyValues = input.keyValues === undefined ? undefined : checkKeyValues(input.keyValues);
  if (input.status !== undefined && !REVIEW_STATUSES.includes(input.status)) {
    throw new ArchiveError(`Report status "${input.status}" must be one of ${REVIEW_STATUSES.join(", ")}.`);
  }
  const reportDate = input.reportDate?.trim() ? checkDate(input.reportDate) : null;

  const source = hasFile ? await readReportFile(input.file!) : await readPastedText(input.text!);
  const text = source.text;
  const title = cleanTitle(input.title) ?? source.defaultTitle;
  const summary =
    input.summary?.trim() ||
    summariseReportText(text) ||
    (text ? "No summary could be derived." : SCANNED_NOTE);
  const values = keyValues ?? extractKeyValues(text);
  const derived = { summary: !input.summary?.trim(), keyValues: keyValues === undefined };
  const status = input.status ?? (derived.summary ? "unreviewed" : "reported");

  const day = (reportDate ?? todayFor(member, archive.clock())).slice(0, 10);
  const folder = path.join(workspace, "family", member.id, "reports");
  const base = freeBaseName(folder, `${day}-${slugOf(title)}`, source.ext, source.kind === "pdf");
  const original = path.join(folder, `${base}.${source.ext}`);
  const textPath = source.kind === "pdf" && text ? path.join(folder, `${base}.txt`) : null;

  const written: string[] = [];
  try {
    writePrivateFile(original, source.bytes);
    written.push(original);
    if (textPath) {
      writePrivateFile(textPath, `${text}\n`);
      written.push(textPath);
    }
    const insert = archive.db.prepare(
      `INSERT INTO reports (member_id, title, report_date, file, source, summary, key_values, status, created_at,
         audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const row = [member.id, title, reportDate, relativeTo(workspace, original), source.kind, summary];
    const event = { action: "report.ingest", memberId: member.id, entity: "reports", note: source.kind };
    const id = archive.change(actor, event, (seq, now) =>
      Number(insert.run(...row, JSON.stringify(values), status, now, seq).lastInsertRowid),
    );
    return {
      member,
      report: getReport(archive.db, id)!,
      text,
      textFile: textPath ? relativeTo(workspace, textPath) : null,
      note: text ? null : SCANNED_NOTE,
      derived,
    };
  } catch (error) {
    // Nothing of a refused or failed report stays behind.
    for (const file of written) fs.rmSync(file, { force: true });
    throw error;
  }
}

/** A member's current reports (not removed), newest first. */
export function listReports(db: Db, memberId: string): Report[] {
  return (
    db
      .prepare(
        `SELECT ${COLUMNS} FROM reports WHERE member_id = ? AND removed_at IS NULL
         ORDER BY COALESCE(report_date, created_at) DESC, id DESC`,
      )
      .all(memberId) as ReportRow[]
  ).map(fromRow);
}

/** One report by id, removed or not. */
export function getReport(db: Db, id: number): Report | undefined {
  const row = db.prepare(`SELECT ${COLUMNS} FROM reports WHERE id = ?`).get(id) as ReportRow | undefined;
  return row ? fromRow(row) : undefined;
}

/** Removes a report from the record (the row and its files stay, for the history), with a reason. */
export function removeReport(
  archive: FamilyArchive,
  actor: Actor,
  memberRef: string,
  id: number,
  reason: string,
): { member: Member; report: Report } {
  const member = archive.member(actor, memberRef);
  const report = getReport(archive.db, id);
  if (!report || report.memberId !== member.id) {
    throw new ArchiveError(`There is no report #${id} in ${member.displayName}'s record.`);
  }
  if (report.removedAt)
    throw new ArchiveError(`Report #${id} was already removed (${report.removedReason}).`);
  if (!reason.trim()) throw new ArchiveError("Removing a report needs a reason.");
  const event = { action: "report.remove", memberId: member.id, entity: "reports", entityId: id };
  archive.change(actor, event, (_, now) => {
    archive.db
      .prepare("UPDATE reports SET removed_at = ?, removed_reason = ? WHERE id = ?")
      .run(now, reason.trim(), id);
  });
  return { member, report: getReport(archive.db, id)! };
}

interface ReportSourceData {
  kind: ReportSource;
  ext: string;
  bytes: Uint8Array | string;
  text: string;
  defaultTitle: string;
}

/** Reads and checks a report file: type by extension and by content, size, and its text. */
async function readReportFile(file: string): Promise<ReportSourceData> {
  const name = path.basename(file);
  const ext = path.extname(file).toLowerCase();
  const kind = EXTENSIONS[ext];
  if (!kind) {
    throw new ArchiveError(
      `"${name}" is not a report medbot can read: use a .txt, .md, .markdown or .pdf file.`,
    );
  }
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) throw new ArchiveError(`"${name}" does not exist.`);
  if (!stat.isFile()) throw new ArchiveError(`"${name}" is not a file.`);
  if (stat.size === 0) throw new ArchiveError(`"${name}" is empty.`);
  if (stat.size > MAX_REPORT_BYTES) {
    throw new ArchiveError(`"${name}" is larger than ${MAX_REPORT_MB} MB, the limit for a report.`);
  }
  const bytes = fs.readFileSync(file);
  const isPdf = bytes.subarray(0, 5).toString("latin1") === "%PDF-";
  const defaultTitle = cleanTitle(path.basename(file, path.extname(file))) ?? "Report";
  if (kind === "pdf") {
    if (!isPdf)
      throw new ArchiveError(`"${name}" is not a PDF (it does not start with %PDF); nothing was stored.`);
    const text = await readReportText({ kind: "pdf", data: bytes }, `The PDF "${name}"`);
    return { kind, ext: "pdf", bytes, text, defaultTitle };
  }
  if (isPdf) throw new ArchiveError(`"${name}" is a PDF named ${ext}; rename it to .pdf and try again.`);
  const text = await readReportText({ kind: "text", data: bytes }, `"${name}"`);
  return { kind, ext: ext.slice(1), bytes, text, defaultTitle };
}

async function readPastedText(text: string): Promise<ReportSourceData> {
  if (!text.trim()) throw new ArchiveError("The pasted report text is empty.");
  if (Buffer.byteLength(text) > MAX_REPORT_BYTES) {
    throw new ArchiveError(`The pasted text is larger than ${MAX_REPORT_MB} MB, the limit for a report.`);
  }
  const clean = await readReportText({ kind: "pasted", data: text }, "The pasted text");
  return { kind: "pasted", ext: "txt", bytes: `${clean}\n`, text: clean, defaultTitle: "Pasted report" };
}

function checkKeyValues(values: readonly unknown[]): KeyValue[] {
  const parsed = z.array(keyValueSchema).max(200).safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ArchiveError(`Key value ${issue.path.join(".") || "list"} is not valid: ${issue.message}.`);
  }
  return parsed.data;
}

function checkDate(text: string): string {
  try {
    return parseRecordDate(text, "Report date");
  } catch (error) {
    throw new ArchiveError((error as Error).message);
  }
}

function cleanTitle(title: string | undefined): string | undefined {
  const clean = title?.replace(/\s+/g, " ").trim().slice(0, 120);
  return clean || undefined;
}

function todayFor(member: Member, now: Date): string {
  try {
    return todayIn(member.timezone ?? hostTimeZone(), now);
  } catch {
    return now.toISOString().slice(0, 10);
  }
}

/** A file-name part from a title, made like a member id (爸爸 stays 爸爸); "report" if it has no letters. */
function slugOf(title: string): string {
  return /[\p{L}\p{N}]/u.test(title) ? idFromName(title) : "report";
}

/** `base`, or base-2, base-3...: the first name whose file (and text file beside a PDF) does not exist yet. */
function freeBaseName(folder: string, base: string, ext: string, withText: boolean): string {
  const taken = (name: string) =>
    fs.existsSync(path.join(folder, `${name}.${ext}`)) ||
    (withText && fs.existsSync(path.join(folder, `${name}.txt`)));
  if (!taken(base)) return base;
  for (let n = 2; ; n++) if (!taken(`${base}-${n}`)) return `${base}-${n}`;
}

function relativeTo(workspace: string, file: string): string {
  return path.relative(workspace, file).split(path.sep).join("/");
}

const COLUMNS = `id, member_id AS memberId, title, report_date AS reportDate, file, source, summary,
  key_values AS keyValues, status, removed_at AS removedAt, removed_reason AS removedReason,
  created_at AS createdAt, audit_seq AS auditSeq`;

type ReportRow = Omit<Report, "keyValues"> & { keyValues: string };

function fromRow(row: ReportRow): Report {
  return { ...row, keyValues: JSON.parse(row.keyValues) as KeyValue[] };
}

// Deterministic reading of a report's text, for when the caller gives no summary or key values.

const NUMBER = String.raw`\d+(?:[.,]\d+)?`;
/** One lab-style line: name, separator, value, then optional unit, reference range and flag. */
const LAB_LINE = new RegExp(
  String.raw`^(?<name>[\p{L}\d][\p{L}\p{M}\d .,'()/+-]{0,50}?)(?<sep>\s*[:：=]\s*|\s+|(?<=\p{Script=Han}))` +
    String.raw`(?<value>[<>≤≥]?\s?${NUMBER})(?:\s*(?<unit>%|‰|(?:[x×*]\s?10\^?\d+|[\p{L}µμ°])[\p{L}\dµμ°^./²³*]*))?` +
    String.raw`(?:(?:\s+|\s*[(\[（])(?:ref(?:erence)?(?: range)?:?\s*)?(?<range>${NUMBER}\s*[-–~]\s*${NUMBER}|[<>≤≥]\s?${NUMBER})\s*[)\]）]?)?` +
    String.raw`(?:\s*(?<flag>HH|LL|H|L|high|low|abnormal|↑|↓|偏高|偏低|高|低|异常|\*))?$`,
  "iu",
);
const FLAGS: Record<string, string> = {
  ...Object.fromEntries(["h", "hh", "high", "↑", "高", "偏高"].map((f) => [f, "high"])),
  ...Object.fromEntries(["l", "ll", "low", "↓", "低", "偏低"].map((f) => [f, "low"])),
  ...Object.fromEntries(["abnormal", "异常", "*"].map((f) => [f, "abnormal"])),
};
const UNIT_WORDS = new Set(
  "% ‰ mmhg bpm fl pg g mg µg μg ug ng kg cm mm s sec min u iu miu meq ratio °c °f cells".split(" "),
);
/** Labels that carry numbers but are not measurements. */
const NOT_A_MEASUREMENT =
  /(?:^|\s)(?:id|no\.?|nr|number|phone|tel|fax|age|page|bed|room|mrn|date|time)$|(?:年龄|电话|床号|编号|页|日期|时间)$/iu;

/** Lab-style values found in a report's lines ("Glucose 6.1 mmol/L (3.9-6.1) H", "血糖 6.1 mmol/L ↑"). */
export function extractKeyValues(text: string): KeyValue[] {
  const found = new Map<string, KeyValue>();
  for (const raw of text.split("\n")) {
    const line = cleanLine(raw);
    const value = line.length <= 120 ? parseLabLine(line) : undefined;
    if (value && !found.has(value.name.toLowerCase())) found.set(value.name.toLowerCase(), value);
    if (found.size >= 60) break;
  }
  return [...found.values()];
}

/** The first meaningful lines of a report, joined, at most `max` characters. */
export function summariseReportText(text: string, max = 400): string {
  let summary = "";
  for (const raw of text.split("\n")) {
    const line = cleanLine(raw);
    if (!/[\p{L}\p{N}].*[\p{L}\p{N}]/u.test(line)) continue;
    const next = summary ? `${summary}; ${line}` : line;
    if (next.length > max) return summary || `${line.slice(0, max - 1).trimEnd()}…`;
    summary = next;
  }
  return summary;
}

function parseLabLine(line: string): KeyValue | undefined {
  const groups = LAB_LINE.exec(line)?.groups;
  if (!groups) return undefined;
  const name = groups.name!.trim();
  let unit = groups.unit;
  let flag = groups.flag ? FLAGS[groups.flag.toLowerCase()] : undefined;
  if (unit && !flag && FLAGS[unit.toLowerCase()]) [flag, unit] = [FLAGS[unit.toLowerCase()], undefined];
  if (!/\p{L}/u.test(name) || NOT_A_MEASUREMENT.test(name)) return undefined;
  if (unit && !unit.includes("/") && !/^[x×*]\s?10/.test(unit) && !UNIT_WORDS.has(unit.toLowerCase())) {
    return undefined;
  }
  const range = groups.range?.replace(/\s+/g, "");
  // A bare number needs a colon ("INR: 2.3") to count; "seen on 3" is prose.
  if (!unit && !range && !flag && !/[:：=]/.test(groups.sep!)) return undefined;
  const value = groups.value!.replace(/\s+/g, "");
  flag ??= flagFromRange(value, range);
  return { name, value, ...(unit && { unit }), ...(range && { range }), ...(flag && { flag }) };
}

/** "high" or "low" when a plain value lies outside a "low-high" reference range. */
function flagFromRange(value: string, range: string | undefined): string | undefined {
  const bounds = range?.match(new RegExp(`^(${NUMBER})[-–~](${NUMBER})$`, "u"));
  if (!bounds || !/^\d/.test(value)) return undefined;
  const [v, low, high] = [value, bounds[1]!, bounds[2]!].map((n) => Number(n.replace(",", ".")));
  return v! > high! ? "high" : v! < low! ? "low" : undefined;
}

/** A line without Markdown and table decoration. */
function cleanLine(line: string): string {
  return line
    .replace(/[|│]/g, " ")
    .replace(/^\s*(?:#{1,6}|[-*•·]|\d+[.)])\s+/, "")
    .replace(/\*\*|__|`/g, "")
    .replace(/\s+/g, " ")
    .trim();
}
