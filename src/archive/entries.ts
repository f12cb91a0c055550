// Versioned archive entries (facts, symptoms, medications). An entry is never edited in place: a change
// inserts a new version that replaces the old one, a removal stamps the row with its reason.
import type { Db } from "../storage/db.js";

export const REVIEW_STATUSES = ["reported", "confirmed", "unreviewed"] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export const FACT_CATEGORIES = [
  "condition",
  "surgery",
  "hospitalisation",
  "family_history",
  "lifestyle",
  "drug_allergy",
  "food_allergy",
  "contraindication",
  "concern",
  "clinician",
  "monitoring_goal",
  "red_flag",
  "open_question",
] as const;
export type FactCategory = (typeof FACT_CATEGORIES)[number];

export interface FactFields {
  category: FactCategory;
  text: string;
  details: string | null;
  since: string | null;
}

export interface SymptomFields {
  name: string;
  onset: string;
  ended: string | null;
  severity: string | null;
  notes: string | null;
}

export interface MedicationFields {
  name: string;
  dose: string | null;
  route: string | null;
  frequency: string | null;
  timesOfDay: string[];
  timezone: string | null;
  startDate: string | null;
  stopDate: string | null;
  reason: string | null;
  state: "active" | "stopped";
}

export interface EntryFields {
  facts: FactFields;
  symptoms: SymptomFields;
  medications: MedicationFields;
}
export type EntryTable = keyof EntryFields;

/** What every version carries besides its own fields. */
export interface EntryMeta {
  id: number;
  memberId: string;
  status: ReviewStatus;
  replaces: number | null;
  replacedBy: number | null;
  removedAt: string | null;
  removedReason: string | null;
  /** Why this version replaced the one before, as the person said it (a correction's reason). */
  changeReason?: string | null;
  createdAt: string;
  auditSeq: number;
}

export type Entry<T extends EntryTable> = EntryMeta & EntryFields[T];

/** Field name -> column, per table. */
const COLUMNS: { [T in EntryTable]: Record<keyof EntryFields[T], string> } = {
  facts: { category: "category", text: "text", details: "details", since: "since" },
  symptoms: { name: "name", onset: "onset", ended: "ended", severity: "severity", notes: "notes" },
  medications: {
    name: "name",
    dose: "dose",
    route: "route",
    frequency: "frequency",
    timesOfDay: "times_of_day",
    timezone: "timezone",
    startDate: "start_date",
    stopDate: "stop_date",
    reason: "reason",
    state: "state",
  },
};

const META = `id, member_id AS memberId, status, replaces, replaced_by AS replacedBy, removed_at AS removedAt,
  removed_reason AS removedReason, change_reason AS changeReason, created_at AS createdAt, audit_seq AS auditSeq`;

const ORDER: Record<EntryTable, string> = {
  facts: "category, id",
  symptoms: "onset DESC, id DESC",
  medications: "state, start_date DESC, id",
};

function selectColumns(table: EntryTable): string {
  const own = Object.entries(COLUMNS[table]).map(([field, column]) => `${column} AS ${field}`);
  return `${META}, ${own.join(", ")}`;
}

function fromRow<T extends EntryTable>(table: T, row: Record<string, unknown>): Entry<T> {
  if (table === "medications") row.timesOfDay = JSON.parse(String(row.timesOfDay ?? "[]"));
  return row as unknown as Entry<T>;
}

function toColumns<T extends EntryTable>(table: T, fields: EntryFields[T]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(COLUMNS[table]) as [string, string][]) {
    const value = (fields as unknown as Record<string, unknown>)[field];
    values[column] = Array.isArray(value) ? JSON.stringify(value) : (value ?? null);
  }
  return values;
}

/**
 * A stopped medication's reason: why it stopped joins why it was taken ("blood pressure; stopped: ankle
 * swelling"), as the MedBot import records it, so neither is lost.
 */
export function stoppedReason(
  takenFor: string | null | undefined,
  whyStopped: string | null | undefined,
): string | undefined {
  const why = whyStopped?.trim();
  return why ? [takenFor, `stopped: ${why}`].filter(Boolean).join("; ") : undefined;
}

export interface NewVersion {
  memberId: string;
  status: ReviewStatus;
  createdAt: string;
  auditSeq: number;
  replaces?: number;
  /** Why it replaces the version before (kept with the version, shown in its history). */
  changeReason?: string;
}

/** Inserts a version; returns its id. */
export function insertEntry<T extends EntryTable>(
  db: Db,
  table: T,
  fields: EntryFields[T],
  meta: NewVersion,
): number {
  const values = {
    ...toColumns(table, fields),
    member_id: meta.memberId,
    status: meta.status,
    replaces: meta.replaces ?? null,
    change_reason: meta.changeReason ?? null,
    created_at: meta.createdAt,
    audit_seq: meta.auditSeq,
  };
  const columns = Object.keys(values);
  const result = db
    .prepare(
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`,
    )
    .run(values);
  return Number(result.lastInsertRowid);
}

/** One version by id, whatever its state. */
export function getEntry<T extends EntryTable>(db: Db, table: T, id: number): Entry<T> | undefined {
  const row = db.prepare(`SELECT ${selectColumns(table)} FROM ${table} WHERE id = ?`).get(id);
  return row ? fromRow(table, row as Record<string, unknown>) : undefined;
}

/** Replaces a current version with a new one (a correction or an update); returns the new id. */
export function replaceEntry<T extends EntryTable>(
  db: Db,
  table: T,
  old: Entry<T>,
  fields: EntryFields[T],
  meta: Omit<NewVersion, "replaces" | "memberId">,
): number {
  const id = insertEntry(db, table, fields, { ...meta, memberId: old.memberId, replaces: old.id });
  db.prepare(`UPDATE ${table} SET replaced_by = ? WHERE id = ?`).run(id, old.id);
  return id;
}

/** Stamps a version as removed, with the reason; the row stays for the history. */
export function removeEntry(db: Db, table: EntryTable, id: number, reason: string, at: string): void {
  db.prepare(`UPDATE ${table} SET removed_at = ?, removed_reason = ? WHERE id = ?`).run(at, reason, id);
}

/** Sets the review status of a current version in place (confirming is not a change of content). */
export function setEntryStatus(db: Db, table: EntryTable, id: number, status: ReviewStatus): void {
  db.prepare(`UPDATE ${table} SET status = ? WHERE id = ?`).run(status, id);
}

/** A member's current versions (neither replaced nor removed). */
export function currentEntries<T extends EntryTable>(db: Db, table: T, memberId: string): Entry<T>[] {
  return db
    .prepare(
      `SELECT ${selectColumns(table)} FROM ${table}
       WHERE member_id = ? AND replaced_by IS NULL AND removed_at IS NULL ORDER BY ${ORDER[table]}`,
    )
    .all(memberId)
    .map((row) => fromRow(table, row as Record<string, unknown>));
}

/** Every version of the entry `id` belongs to, oldest first. */
export function entryHistory<T extends EntryTable>(db: Db, table: T, id: number): Entry<T>[] {
  let first = getEntry(db, table, id);
  while (first?.replaces) first = getEntry(db, table, first.replaces);
  const chain: Entry<T>[] = [];
  for (
    let cursor = first;
    cursor;
    cursor = cursor.replacedBy ? getEntry(db, table, cursor.replacedBy) : undefined
  ) {
    chain.push(cursor);
  }
  return chain;
}
