// The audit log: append-only, each entry hash-chained to the one before. It records who changed or
// exported what, and when, but no health content. `verifyAudit` finds an edited or deleted entry, and with
// the head file (audit-head.ts) a chain cut short, re-hashed or renumbered, and dropped triggers.
import { type Db, nowIso, writeTransaction } from "../storage/db.js";
import { AUDIT_COLUMNS, type AuditEntry, auditEntryHash, GENESIS_HASH } from "./audit-chain.js";
import { checkAuditHead, checkAuditTriggers, scheduleAuditAnchor } from "./audit-head.js";

export { type AuditEntry, GENESIS_HASH } from "./audit-chain.js";

/**
 * Who acted, as an entry records it: the person (or "medbot" for its own routines), the channel and the
 * message. An access/ Actor fits as it is; the log needs no more of it (never the grants).
 */
export interface AuditActor {
  person: string;
  channel: string;
  messageId?: string;
}

export interface AuditEvent {
  action: string;
  memberId?: string;
  entity?: string;
  entityId?: string | number;
  /** Non-health detail only (a format, a channel, a count). */
  note?: string;
}

/**
 * Appends one entry; call it inside the transaction of the change it records. Returns its seq. Alone, it
 * is its own write transaction, so another process's entry cannot take its seq between read and insert.
 * The head file follows once the transaction is over (audit-head.ts).
 */
export function appendAudit(
  db: Db,
  actor: AuditActor,
  event: AuditEvent,
  clock: () => Date = () => new Date(),
): number {
  const seq = writeTransaction(db, () => appendChainedEntry(db, actor, event, clock));
  scheduleAuditAnchor(db);
  return seq;
}

function appendChainedEntry(
  db: Db,
  actor: AuditActor,
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
  const hash = auditEntryHash(entry);
  db.prepare(
    `INSERT INTO audit_log (seq, at, actor, channel, message_id, action, member_id, entity, entity_id, note, prev_hash, hash)
     VALUES (@seq, @at, @actor, @channel, @messageId, @action, @memberId, @entity, @entityId, @note, @prevHash, @hash)`,
  ).run({ ...entry, hash });
  return entry.seq;
}

/** Entries, oldest first, optionally for one member and from a time on. */
export function listAudit(db: Db, filter: { memberId?: string; since?: string } = {}): AuditEntry[] {
  return db
    .prepare(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log
       WHERE (@memberId IS NULL OR member_id = @memberId) AND (@since IS NULL OR at >= @since) ORDER BY seq`,
    )
    .all({ memberId: filter.memberId ?? null, since: filter.since ?? null }) as AuditEntry[];
}

export interface AuditVerdict {
  ok: boolean;
  entries: number;
  problems: string[];
}

/**
 * Recomputes the chain (an edited entry breaks its hash, a deleted one the link or the sequence), compares its
 * end with the head file (a cut tail, a re-hashed or renumbered chain) and checks the append-only triggers.
 * With `signingKey` (audit.signHead on), the head must carry a valid signature by that key.
 */
export function verifyAudit(db: Db, options: { signingKey?: string } = {}): AuditVerdict {
  const problems: string[] = [];
  let previous: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH };
  const rows = db
    .prepare(`SELECT ${AUDIT_COLUMNS} FROM audit_log ORDER BY seq`)
    .iterate() as IterableIterator<AuditEntry>;
  let entries = 0;
  for (const row of rows) {
    entries++;
    if (row.seq !== previous.seq + 1)
      problems.push(`entries ${previous.seq + 1}..${row.seq - 1} are missing`);
    if (row.prevHash !== previous.hash)
      problems.push(`entry ${row.seq} does not link to the entry before it`);
    const { hash, ...rest } = row;
    if (auditEntryHash(rest) !== hash) problems.push(`entry ${row.seq} was changed after it was written`);
    previous = { seq: row.seq, hash };
  }
  const highest = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").get() as
    | { seq: number }
    | undefined;
  if (highest && highest.seq > previous.seq)
    problems.push(`entries ${previous.seq + 1}..${highest.seq} were deleted`);
  problems.push(...checkAuditHead(db, options.signingKey), ...checkAuditTriggers(db));
  return { ok: problems.length === 0, entries, problems };
}
