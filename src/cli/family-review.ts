// `medbot family review [MEMBER] [--confirm ID | --reject ID]`: what was reported or auto-captured and not yet
// confirmed, with ids like fact:12; confirming sets it confirmed, rejecting removes it (kept in the history).
import { type Actor, hostOwner } from "../access/actor.js";
import { entryLine } from "../agent/tools/family-record.js";
import { ENTRY_NOUN, type FamilyArchive } from "../archive/archive.js";
import { type EntryTable, getEntry } from "../archive/entries.js";
import type { Member } from "../archive/members.js";
import {
  describeReading,
  kindOf,
  type MetricReading,
  memberTimeZone,
  removeMetric,
} from "../archive/metrics.js";
import { CliFailure, type GlobalOptions } from "./startup.js";

export interface ReviewOptions extends GlobalOptions {
  confirm?: string;
  reject?: string;
  json?: boolean;
}

/** One item awaiting review. */
export interface PendingItem {
  ref: string;
  memberId: string;
  member: string;
  status: string;
  text: string;
}

const TABLES: Record<string, EntryTable | "metrics"> = {
  fact: "facts",
  symptom: "symptoms",
  medication: "medications",
  metric: "metrics",
};
const REF = /^(fact|symptom|medication|metric)[:#](\d+)$/i;
const REJECTED = "rejected in review";
const SHOWN_READINGS = 20;

/** The review command's output: the list of what awaits review, or the result of one confirm / reject. */
export function review(archive: FamilyArchive, ref: string | undefined, options: ReviewOptions): string {
  if (options.confirm && options.reject) throw new CliFailure("Give either --confirm or --reject, not both.");
  const flag = options.confirm ? "--confirm" : options.reject ? "--reject" : undefined;
  const target = flag ? parseRef(flag, (options.confirm ?? options.reject)!) : undefined;
  const actor = hostOwner("cli");
  const member = ref === undefined ? undefined : archive.member(actor, ref);
  if (target) return settle(archive, actor, member, target, options.confirm ? "confirm" : "reject");
  const items = (member ? [member] : archive.members(actor)).flatMap((m) => pendingItems(archive, m));
  if (options.json) return JSON.stringify(items, null, 2);
  if (items.length === 0) return `Nothing awaits review${member ? ` for ${member.displayName}` : ""}.`;
  return [
    `${items.length} item(s) await review:`,
    ...shownItems(items).map((i) => `  ${i.ref.padEnd(16)} ${i.member}: ${i.text}`),
    "Confirm with --confirm ID, reject with --reject ID (e.g. medbot family review --confirm fact:12).",
  ].join("\n");
}

/** Every entry, but at most SHOWN_READINGS readings per member and a count of the rest (years of imports). */
function shownItems(items: PendingItem[]): PendingItem[] {
  const readings = new Map<string, number>();
  const shown: PendingItem[] = [];
  for (const item of items) {
    const n = item.ref.startsWith("metric:") ? (readings.get(item.memberId) ?? 0) + 1 : 0;
    if (n) readings.set(item.memberId, n);
    if (n <= SHOWN_READINGS) shown.push(item);
    if (n === SHOWN_READINGS + 1) {
      const more = items.filter((i) => i.memberId === item.memberId && i.ref.startsWith("metric:")).length;
      const text = `... and ${more - SHOWN_READINGS} more readings (medbot family review --json lists them all)`;
      shown.push({ ...item, ref: "", text });
    }
  }
  return shown;
}

function parseRef(flag: string, text: string): { noun: string; table: EntryTable | "metrics"; id: number } {
  const match = REF.exec(text.trim());
  if (!match) {
    throw new CliFailure(
      `${flag} "${text}" is not an item id: use one like fact:12, symptom:3, medication:5 or metric:7 (see medbot family review).`,
    );
  }
  const noun = match[1]!.toLowerCase();
  return { noun, table: TABLES[noun]!, id: Number(match[2]) };
}

/** Everything of one member not yet confirmed, oldest entries first. */
export function pendingItems(archive: FamilyArchive, member: Member): PendingItem[] {
  const db = archive.db;
  const items: PendingItem[] = [];
  const item = (ref: string, status: string, text: string) =>
    items.push({ ref, memberId: member.id, member: member.displayName, status, text });
  for (const table of ["facts", "medications", "symptoms"] as const) {
    const rows = db
      .prepare(
        `SELECT id FROM ${table} WHERE member_id = ? AND replaced_by IS NULL AND removed_at IS NULL
         AND status <> 'confirmed' ORDER BY id`,
      )
      .all(member.id) as { id: number }[];
    for (const { id } of rows) {
      const entry = getEntry(db, table, id)!;
      item(`${ENTRY_NOUN[table]}:${id}`, entry.status, entryLine(table, entry));
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
  return items;
}

/** Confirms or rejects one item; refuses an id of another member, a removed or replaced one, or none. */
function settle(
  archive: FamilyArchive,
  actor: Actor,
  member: Member | undefined,
  target: { noun: string; table: EntryTable | "metrics"; id: number },
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
  if (target.table === "metrics") settleReading(archive, actor, owner, target.id, verdict);
  else archive.review(actor, owner.id, target.table, target.id, verdict);
  return verdict === "confirm"
    ? `Confirmed ${ref} in ${owner.displayName}'s record.`
    : `Rejected ${ref} in ${owner.displayName}'s record (removed; kept in its history).`;
}

function settleReading(
  archive: FamilyArchive,
  actor: Actor,
  member: Member,
  id: number,
  verdict: "confirm" | "reject",
): void {
  if (verdict === "reject") {
    removeMetric(archive, actor, member.id, id, REJECTED);
    return;
  }
  const removed = archive.db.prepare("SELECT removed_at AS at FROM metrics WHERE id = ?").get(id) as {
    at: string | null;
  };
  if (removed.at) throw new CliFailure(`metric:${id} was removed; it cannot be confirmed.`);
  const event = { action: "metric.confirm", memberId: member.id, entity: "metrics", entityId: id };
  archive.change(actor, event, () =>
    archive.db.prepare("UPDATE metrics SET status = 'confirmed' WHERE id = ?").run(id),
  );
}
