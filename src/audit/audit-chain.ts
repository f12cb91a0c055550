// How audit entries chain: the recipe that hashes an entry together with the one before it, shared by the
// log that appends and verifies (audit-log.ts) and the head file that anchors the chain's end (audit-head.ts).
import { createHash } from "node:crypto";

/** The hash the first entry links to. */
export const GENESIS_HASH = "0".repeat(64);

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

/** The audit_log columns as AuditEntry fields. */
export const AUDIT_COLUMNS = `seq, at, actor, channel, message_id AS messageId, action, member_id AS memberId, entity,
  entity_id AS entityId, note, prev_hash AS prevHash, hash`;

/** The hash that chains an entry to the one before it. */
export function auditEntryHash(entry: Omit<AuditEntry, "hash">): string {
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
