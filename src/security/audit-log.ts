// The audit log: append-only, each entry hash-chained to the one before. It records who changed or
// exported what, and when, but no health content. `verifyAudit` finds an edited or deleted entry.
import { createHash } from "node:crypto";
import type { Actor } from "../access/actor.js";
import { type Db, nowIso, writeTransaction } from "../storage/db.js";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditEvent {
  action: string;
  memberId?: string;
  entity?: string;
  entityId?: string | number;
  /** Non-health detail only (a format, a channel, a count). */
  note?: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  channel: string;
  messageId: string | null;
  action: string;
  memberId: string | null;
  entity: string | null;
  entityId: string | null;
  note: string | null;
  prevHash: string;
  hash: string;
}

const COLUMNS = `seq, at, actor, channel, message_id AS messageId, action, member_id AS memberId, entity,
  entity_id AS entityId, note, prev_hash AS prevHash, hash`;

/**
 * Appends one entry; call it inside the transaction of the change it records. Returns its seq. Alone, it
 * is its own write transaction, so another process's entry cannot take its seq between read and insert.
 */
export function appendAudit(
  db: Db,
  actor: Actor,
  event: AuditEvent,
  clock: () => Date = () => new Date(),
): number {
  return writeTransaction(db, () => appendChainedEntry(db, actor, event, clock));
}

function appendChainedEntry(
  db: Db,
  actor: Actor,
  event: AuditEvent,
  clock: () => Date = () => new Date(),
): number {
  const last = db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").get() as
    | { seq: number; hash: string }
    | undefined;
  const entry: Omit<AuditEntry, "hash"> = {
    seq: (last?.seq ?? 0) + 1,
    at: nowIso(clock),
    actor: actor.person,
    channel: actor.channel,
    messageId: actor.messageId ?? null,
    action: event.action,
    memberId: event.memberId ?? null,
    entity: event.entity ?? null,
    entityId: event.entityId === undefined ? null : String(event.entityId),
    note: event.note ?? null,
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  const hash = entryHash(entry);
  db.prepare(
    `INSERT INTO audit_log (seq, at, actor, channel, message_id, action, member_id, entity, entity_id, note, prev_hash, hash)
     VALUES (@seq, @at, @actor, @channel, @messageId, @action, @memberId, @entity, @entityId, @note, @prevHash, @hash)`,
  ).run({ ...entry, hash });
  return entry.seq;
}

function entryHash(entry: Omit<AuditEntry, "hash">): string {
  const fields = [
    entry.prevHash,
    entry.seq,
    entry.at,
    entry.actor,
    entry.channel,
    entry.messageId,
    entry.action,
    entry.memberId,
    entry.entity,
    entry.entityId,
    entry.note,
  ];
  return createHash("sha256").update(JSON.stringify(fields)).digest("hex");
}

/** Entries, oldest first, optionally for one member and from a time on. */
export function listAudit(db: Db, filter: { memberId?: string; since?: string } = {}): AuditEntry[] {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM audit_log
       WHERE (@memberId IS NULL OR member_id = @memberId) AND (@since IS NULL OR at >= @since) ORDER BY seq`,
    )
    .all({ memberId: filter.memberId ?? null, since: filter.since ?? null }) as AuditEntry[];
}

export interface AuditVerdict {
  ok: boolean;
  entries: number;
  problems: string[];
}

/** Recomputes the chain: an edited entry breaks its hash, a deleted one the link or the sequence. */
export function verifyAudit(db: Db): AuditVerdict {
  const problems: string[] = [];
  let previous: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH };
  const rows = db
    .prepare(`SELECT ${COLUMNS} FROM audit_log ORDER BY seq`)
    .iterate() as IterableIterator<AuditEntry>;
  let entries = 0;
  for (const row of rows) {
    entries++;
    if (row.seq !== previous.seq + 1)
      problems.push(`entries ${previous.seq + 1}..${row.seq - 1} are missing`);
    if (row.prevHash !== previous.hash)
      problems.push(`entry ${row.seq} does not link to the entry before it`);
    const { hash, ...rest } = row;
    if (entryHash(rest) !== hash) problems.push(`entry ${row.seq} was changed after it was written`);
    previous = { seq: row.seq, hash };
  }
  const highest = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").get() as
    | { seq: number }
    | undefined;
  if (highest && highest.seq > previous.seq)
    problems.push(`entries ${previous.seq + 1}..${highest.seq} were deleted`);
  return { ok: problems.length === 0, entries, problems };
}
