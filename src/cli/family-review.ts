// `medbot family review [MEMBER] [--kind K] [--confirm ID | --reject ID | --confirm-all]`: what was reported or
// auto-captured and not yet confirmed, with ids like fact:12; confirming sets it confirmed, rejecting removes it
// (kept in the history). --confirm-all confirms every listed item in one transaction, each audited on its own.
import { type Actor, hostOwner } from "../access/actor.js";
import { entryLine } from "../agent/tools/family-record.js";
import { ENTRY_NOUN, type FamilyArchive } from "../archive/archive.js";
import { type Entry, type EntryTable, type FactCategory, getEntry } from "../archive/entries.js";
import type { Member } from "../archive/members.js";
import {
  describeReading,
  kindOf,
  type MetricReading,
  memberTimeZone,
  removeMetric,
} from "../archive/metrics.js";
import { listReports, removeReport } from "../archive/reports.js";
import { writeTransaction } from "../storage/db.js";
import { CliFailure, type GlobalOptions } from "./startup.js";

export interface ReviewOptions extends GlobalOptions {
  confirm?: string;
  reject?: string;
  confirmAll?: boolean;
  kind?: string;
  json?: boolean;
}

/** One item awaiting review. */
export interface PendingItem {
  ref: string;
  memberId: string;
  member: string;
  status: string;
  text: string;
  /** A fact's category (an allergy, a condition...), for --kind. */
  category?: FactCategory;
}

type ReviewTable = EntryTable | "metrics" | "reports";
const TABLES: Record<string, ReviewTable> = {
  fact: "facts",
  symptom: "symptoms",
  medication: "medications",
  metric: "metrics",
  report: "reports",
};
const REF = /^(fact|symptom|medication|metric|report)[:#](\d+)$/i;
/** What --kind may name: the archive's entry kinds, with allergies and conditions picked out of the facts. */
const REVIEW_KINDS = ["fact", "allergy", "condition", "medication", "symptom", "metric", "report"] as const;
const ALLERGIES: readonly string[] = ["drug_allergy", "food_allergy"];
const REJECTED = "rejected in review";
const SHOWN_READINGS = 20;

/** The review command's output: the list of what awaits review, or the result of one confirm / reject. */
export function review(archive: FamilyArchive, ref: string | undefined, options: ReviewOptions): string {
  if (options.confirm && options.reject) throw new CliFailure("Give either --confirm or --reject, not both.");
  if ((options.confirm || options.reject) && options.confirmAll)
    throw new CliFailure("Give one of --confirm, --reject or --confirm-all.");
  const flag = options.confirm ? "--confirm" : options.reject ? "--reject" : undefined;
  if (flag && options.kind !== undefined) {
    throw new CliFailure(
      `--kind goes with the list or --confirm-all, not with ${flag} (the id names its kind).`,
    );
  }
  const kind = options.kind === undefined ? undefined : reviewKind(options.kind);
  const target = flag ? parseRef(flag, (options.confirm ?? options.reject)!) : undefined;
  const actor = hostOwner("cli");
  const member = ref === undefined ? undefined : archive.member(actor, ref);
  if (target) return settle(archive, actor, member, target, options.confirm ? "confirm" : "reject");
  const items = (member ? [member] : archive.members(actor))
    .flatMap((m) => pendingItems(archive, m))
    .filter((item) => !kind || isOfKind(item, kind));
  if (options.json && !options.confirmAll) return JSON.stringify(items, null, 2);
  if (items.length === 0) {
    const what = kind ? ` of kind ${kind}` : "";
    return `Nothing${what} awaits review${member ? ` for ${member.displayName}` : ""}.`;
  }
  if (options.confirmAll) return confirmAll(archive, actor, items, options.json === true);
  return [
    `${items.length} item(s) await review:`,
    ...shownItems(items, "medbot family review --json lists them all").map(itemLine),
    "Confirm with --confirm ID, reject with --reject ID (e.g. medbot family review --confirm fact:12), or all with --confirm-all.",
  ].join("\n");
}

function itemLine(item: PendingItem): string {
  return `  ${item.ref.padEnd(16)} ${item.member}: ${item.text}`;
}

function reviewKind(text: string): (typeof REVIEW_KINDS)[number] {
  const kind = REVIEW_KINDS.find((k) => k === text.trim().toLowerCase());
  if (!kind) {
    throw new CliFailure(
      `--kind "${text}" must be one of ${REVIEW_KINDS.slice(0, -1).join(", ")} or ${REVIEW_KINDS.at(-1)}.`,
    );
  }
  return kind;
}

function isOfKind(item: PendingItem, kind: (typeof REVIEW_KINDS)[number]): boolean {
  if (kind === "allergy") return item.category !== undefined && ALLERGIES.includes(item.category);
  if (kind === "condition") return item.category === "condition";
  return item.ref.startsWith(`${kind}:`);
}

/**
 * Confirms every item in one transaction (all or none), each with its own audit entry as a single --confirm
 * would make; prints what it confirmed.
 */
function confirmAll(archive: FamilyArchive, actor: Actor, items: PendingItem[], json: boolean): string {
  writeTransaction(archive.db, () => {
    for (const item of items) {
      const target = parseRef("--confirm-all", item.ref);
      if (target.table === "metrics") settleReading(archive, actor, item.memberId, target.id, "confirm");
      else if (target.table === "reports") confirmRow(archive, actor, item.memberId, "reports", target.id);
      else archive.review(actor, item.memberId, target.table, target.id, "confirm");
    }
  });
  // Confirming changes only the status, so each line is the listed one with its new status.
  const confirmed = items.map((i) => ({
    ...i,
    status: "confirmed",
    text: i.text.replace(new RegExp(` \\[${i.status}\\]$`), " [confirmed]"),
  }));
  if (json) return JSON.stringify(confirmed, null, 2);
  return [
    `Confirmed ${items.length} item(s):`,
    ...shownItems(confirmed, "medbot family review --json lists each one").map(itemLine),
  ].join("\n");
}

/** Every entry, but at most SHOWN_READINGS readings per member and a count of the rest (years of imports). */
function shownItems(items: PendingItem[], more: string): PendingItem[] {
  const readings = new Map<string, number>();
  const shown: PendingItem[] = [];
  for (const item of items) {
    const n = item.ref.startsWith("metric:") ? (readings.get(item.memberId) ?? 0) + 1 : 0;
    if (n) readings.set(item.memberId, n);
    if (n <= SHOWN_READINGS) shown.push(item);
    if (n === SHOWN_READINGS + 1) {
      const count = items.filter((i) => i.memberId === item.memberId && i.ref.startsWith("metric:")).length;
      const text = `... and ${count - SHOWN_READINGS} more readings (${more})`;
      shown.push({ ...item, ref: "", text });
    }
  }
  return shown;
}

function parseRef(flag: string, text: string): { noun: string; table: ReviewTable; id: number } {
  const match = REF.exec(text.trim());
  if (!match) {
    throw new CliFailure(
      `${flag} "${text}" is not an item id: use one like fact:12, symptom:3, medication:5, metric:7 or report:2 (see medbot family review).`,
    );
  }
  const noun = match[1]!.toLowerCase();
  return { noun, table: TABLES[noun]!, id: Number(match[2]) };
}

/** Everything of one member not yet confirmed, oldest entries first. */
export function pendingItems(archive: FamilyArchive, member: Member): PendingItem[] {
  const db = archive.db;
  const items: PendingItem[] = [];
  const item = (ref: string, status: string, text: string, category?: FactCategory) =>
    items.push({ ref, memberId: member.id, member: member.displayName, status, text, category });
  for (const table of ["facts", "medications", "symptoms"] as const) {
    const rows = db
      .prepare(
        `SELECT id FROM ${table} WHERE member_id = ? AND replaced_by IS NULL AND removed_at IS NULL
         AND status <> 'confirmed' ORDER BY id`,
      )
      .all(member.id) as { id: number }[];
    for (const { id } of rows) {
      const entry = getEntry(db, table, id)!;
      const category = table === "facts" ? (entry as Entry<"facts">).category : undefined;
      item(`${ENTRY_NOUN[table]}:${id}`, entry.status, entryLine(table, entry), category);
    }
  }
  const readings = db
    .prepare(
      `SELECT id, member_id AS memberId, kind, value, value2, pulse, unit, measured_at AS measuredAt, note, status
       FROM metrics WHERE member_id = ? AND removed_at IS NULL AND status <> 'confirmed' ORDER BY measured_at, id`,
    )
    .all(member.id) as MetricReading[];
  const zone = memberTimeZone(db, member.id);
  for (const r of readings) {
    item(`metric:${r.id}`, r.status, `${describeReading(r, kindOf(db, r.kind).label, zone)} [${r.status}]`);
  }
  const reports = listReports(db, member.id).filter((r) => r.status !== "confirmed");
  for (const r of reports.sort((a, b) => a.id - b.id)) {
    item(`report:${r.id}`, r.status, `${r.title}${r.reportDate ? ` (${r.reportDate})` : ""} [${r.status}]`);
  }
  return items;
}

/** Confirms or rejects one item; refuses an id of another member, a removed or replaced one, or none. */
function settle(
  archive: FamilyArchive,
  actor: Actor,
  member: Member | undefined,
  target: { noun: string; table: ReviewTable; id: number },
  verdict: "confirm" | "reject",
): string {
  const ref = `${target.noun}:${target.id}`;
  const where = member ? ` in ${member.displayName}'s record` : "";
  const row = archive.db
    .prepare(`SELECT member_id AS memberId, status FROM ${target.table} WHERE id = ?`)
    .get(target.id) as { memberId: string; status: string } | undefined;
  if (!row || (member && row.memberId !== member.id)) throw new CliFailure(`There is no ${ref}${where}.`);
  archive.assertAccess(actor, row.memberId);
  if (verdict === "confirm" && row.status === "confirmed")
    throw new CliFailure(`${ref} is already confirmed.`);
  const owner = archive.member(actor, row.memberId);
  if (target.table === "metrics") settleReading(archive, actor, owner.id, target.id, verdict);
  else if (target.table === "reports") settleReport(archive, actor, owner.id, target.id, verdict);
  else archive.review(actor, owner.id, target.table, target.id, verdict);
  return verdict === "confirm"
    ? `Confirmed ${ref} in ${owner.displayName}'s record.`
    : `Rejected ${ref} in ${owner.displayName}'s record (removed; kept in its history).`;
}

function settleReading(
  archive: FamilyArchive,
  actor: Actor,
  memberId: string,
  id: number,
  verdict: "confirm" | "reject",
): void {
  if (verdict === "reject") {
    removeMetric(archive, actor, memberId, id, REJECTED);
    return;
  }
  confirmRow(archive, actor, memberId, "metrics", id);
}

function settleReport(
  archive: FamilyArchive,
  actor: Actor,
  memberId: string,
  id: number,
  verdict: "confirm" | "reject",
): void {
  if (verdict === "reject") removeReport(archive, actor, memberId, id, REJECTED);
  else confirmRow(archive, actor, memberId, "reports", id);
}

/** Marks a reading or a report (summary and key values) as checked by the owner; audited like any confirmation. */
function confirmRow(
  archive: FamilyArchive,
  actor: Actor,
  memberId: string,
  table: "metrics" | "reports",
  id: number,
): void {
  const noun = table === "metrics" ? "metric" : "report";
  const removed = archive.db.prepare(`SELECT removed_at AS at FROM ${table} WHERE id = ?`).get(id) as {
    at: string | null;
  };
  if (removed.at) throw new CliFailure(`${noun}:${id} was removed; it cannot be confirmed.`);
  const event = { action: `${noun}.confirm`, memberId, entity: table, entityId: id };
  archive.change(actor, event, () =>
    archive.db.prepare(`UPDATE ${table} SET status = 'confirmed' WHERE id = ?`).run(id),
  );
}
