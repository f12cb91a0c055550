// Pairing (`dmPolicy: "pairing"`): an unknown sender gets a one-time code, the owner approves it on the
// host with `medbot pairing approve CODE`, and the sender is allowed from then on (until revoked).
// Codes live an hour; a sender who writes again meanwhile gets the same code. Each channel holds at most
// MAX_PENDING_PER_CHANNEL codes, so a flood of strangers cannot mint codes without bound; when it is full
// the OLDEST code is dropped (audited "pairing.dropped", and the gateway warns the owner) rather than the
// new sender refused, so strangers cannot leave a family member without a code. A sender whose code was
// dropped gets a new one only REISSUE_AFTER_DROP_MS later, so one stranger cannot churn the others out.
import * as fs from "node:fs";
import Database from "better-sqlite3";
import { appendAudit } from "../audit/audit-log.js";
import type { ChannelName } from "../config/schema.js";
import { CHANNEL_NAMES } from "../config/schema.js";
import { oneTimeCode } from "../security/one-time-code.js";
import { type Db, nowIso, writeTransaction } from "../storage/db.js";
import { hostOwner } from "./actor.js";
import { senderKey } from "./allow-list.js";

export { CODE_ALPHABET } from "../security/one-time-code.js";
export const CODE_LENGTH = 8;
export const CODE_TTL_MS = 60 * 60 * 1000;
export const MAX_PENDING_PER_CHANNEL = 3;
/** How long a sender whose code was dropped waits for a new one. */
export const REISSUE_AFTER_DROP_MS = 10 * 60 * 1000;
/** Above this many remembered drops, those older than REISSUE_AFTER_DROP_MS are forgotten. */
const REMEMBERED_DROPS = 10_000;

/** A refused pairing command: unknown or expired code, malformed or unapproved sender. */
export class PairingError extends Error {}

export interface PairingRequest {
  channel: ChannelName;
  senderId: string;
  code: string;
  createdAt: string;
  expiresAt: string;
}

/** One approved or revoked sender. */
export interface PairedSender {
  channel: ChannelName;
  senderId: string;
}

/** A sender let in by pairing: `sender` is the "channel:id" that `medbot pairing revoke` takes. */
export interface ApprovedSender extends PairedSender {
  sender: string;
  approvedAt: string;
}

const REQUEST_COLUMNS =
  "channel, sender_id AS senderId, code, created_at AS createdAt, expires_at AS expiresAt";

/** Pending codes and approved senders in medbot.db (tables pairing_requests, approved_senders). */
export class PairingStore {
  /** When each sender's code was last dropped ("channel:sender" -> ms), for the re-issue limit. */
  private readonly droppedAt = new Map<string, number>();

  /** `onDropped` hears of each code dropped for a newer sender (the gateway warns the owner). */
  constructor(
    readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
    private readonly onDropped: (dropped: PairingRequest) => void = () => {},
  ) {}

  /**
   * The sender's code: the pending one if still valid, else a new one (dropping the channel's oldest code
   * when it is full); undefined while a sender whose code was dropped must wait (see retryAt).
   */
  codeFor(channel: ChannelName, senderId: string): string | undefined {
    const sender = senderKey(channel, senderId);
    const dropped: PairingRequest[] = [];
    const code = writeTransaction(this.db, () => {
      const now = nowIso(this.clock);
      this.db.prepare("DELETE FROM pairing_requests WHERE expires_at <= ?").run(now);
      const pending = this.db
        .prepare("SELECT code FROM pairing_requests WHERE channel = ? AND sender_id = ?")
        .get(channel, sender) as { code: string } | undefined;
      if (pending) return pending.code;
      if (this.retryAt(channel, senderId)) return undefined;
      const held = this.db
        .prepare(
          `SELECT ${REQUEST_COLUMNS} FROM pairing_requests WHERE channel = ? ORDER BY created_at, rowid`,
        )
        .all(channel) as PairingRequest[];
      // Full: the oldest codes make room, so the new sender is never the one refused.
      for (const request of held.slice(0, Math.max(0, held.length - MAX_PENDING_PER_CHANNEL + 1))) {
        this.db.prepare("DELETE FROM pairing_requests WHERE code = ?").run(request.code);
        const medbot = { person: "medbot", channel: request.channel, grants: [] };
        appendAudit(this.db, medbot, auditEvent("pairing.dropped", request), this.clock);
        dropped.push(request);
      }
      const code = oneTimeCode(CODE_LENGTH);
      const expiresAt = new Date(this.clock().getTime() + CODE_TTL_MS).toISOString();
      this.db
        .prepare(
          "INSERT INTO pairing_requests (channel, sender_id, code, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .run(channel, sender, code, now, expiresAt);
      return code;
    });
    for (const request of dropped) this.rememberDrop(request);
    return code;
  }

  /** When a sender whose code was dropped may get a new one (ISO time), or undefined if they may now. */
  retryAt(channel: ChannelName, senderId: string): string | undefined {
    const at = this.droppedAt.get(`${channel}:${senderKey(channel, senderId)}`);
    if (at === undefined || this.clock().getTime() - at >= REISSUE_AFTER_DROP_MS) return undefined;
    return new Date(at + REISSUE_AFTER_DROP_MS).toISOString();
  }

  private rememberDrop(request: PairingRequest): void {
    const now = this.clock().getTime();
    if (this.droppedAt.size >= REMEMBERED_DROPS) {
      for (const [sender, at] of this.droppedAt)
        if (now - at >= REISSUE_AFTER_DROP_MS) this.droppedAt.delete(sender);
    }
    this.droppedAt.set(`${request.channel}:${request.senderId}`, now);
    this.onDropped(request);
  }

  /** Codes not yet expired, oldest first. */
  pending(): PairingRequest[] {
    return this.db
      .prepare(
        `SELECT ${REQUEST_COLUMNS} FROM pairing_requests WHERE expires_at > ? ORDER BY created_at, channel`,
      )
      .all(nowIso(this.clock)) as PairingRequest[];
  }

  /** Senders approved by pairing and not revoked, oldest approval first. */
  approved(): ApprovedSender[] {
    const rows = this.db
      .prepare(
        "SELECT channel, sender_id AS senderId, approved_at AS approvedAt FROM approved_senders ORDER BY approved_at, channel, sender_id",
      )
      .all() as { channel: ChannelName; senderId: string; approvedAt: string }[];
    return rows.map((row) => ({ sender: `${row.channel}:${row.senderId}`, ...row }));
  }

  /** Approves the sender holding `code` (audited as the host owner); throws PairingError if unknown or expired. */
  approve(code: string): PairedSender {
    const wanted = code.trim().toUpperCase();
    return writeTransaction(this.db, () => {
      const request = this.db
        .prepare(`SELECT ${REQUEST_COLUMNS} FROM pairing_requests WHERE code = ?`)
        .get(wanted) as PairingRequest | undefined;
      if (!request) {
        throw new PairingError(
          `No pending pairing code ${wanted}; see the pending codes with: medbot pairing list`,
        );
      }
      if (request.expiresAt <= nowIso(this.clock)) {
        throw new PairingError(
          `Pairing code ${wanted} expired at ${request.expiresAt}; ask the sender to message the bot again for a new code.`,
        );
      }
      this.db
        .prepare("INSERT OR REPLACE INTO approved_senders (channel, sender_id, approved_at) VALUES (?, ?, ?)")
        .run(request.channel, request.senderId, nowIso(this.clock));
      this.db.prepare("DELETE FROM pairing_requests WHERE code = ?").run(wanted);
      const sender = { channel: request.channel, senderId: request.senderId };
      appendAudit(this.db, hostOwner("cli"), auditEvent("pairing.approve", sender), this.clock);
      return sender;
    });
  }

  /** Removes an approval given as "channel:id" (audited); throws PairingError if malformed or not approved. */
  revoke(sender: string): PairedSender {
    const parsed = parseSender(sender);
    return writeTransaction(this.db, () => {
      const removed = this.db
        .prepare("DELETE FROM approved_senders WHERE channel = ? AND sender_id = ?")
        .run(parsed.channel, parsed.senderId);
      if (removed.changes === 0) {
        throw new PairingError(`${sender} is not an approved sender; nothing to revoke.`);
      }
      appendAudit(this.db, hostOwner("cli"), auditEvent("pairing.revoke", parsed), this.clock);
      return parsed;
    });
  }

  /** True when the sender was approved by pairing (and not revoked since). */
  isApproved(channel: ChannelName, senderId: string): boolean {
    return (
      this.db
        .prepare("SELECT 1 FROM approved_senders WHERE channel = ? AND sender_id = ?")
        .get(channel, senderKey(channel, senderId)) !== undefined
    );
  }
}

/**
 * The senders approved in the database `file`, read without changing it (for status and doctor, which never
 * create or migrate a database): none when there is no database or it predates pairing.
 */
export function approvedSendersIn(file: string): ApprovedSender[] {
  if (!fs.existsSync(file)) return [];
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return new PairingStore(db).approved();
  } catch {
    return [];
  } finally {
    db?.close();
  }
}

/** "telegram:123" as a channel and sender id; throws PairingError naming the expected form. */
export function parseSender(text: string): PairedSender {
  const colon = text.indexOf(":");
  const channel = text.slice(0, colon);
  const senderId = text.slice(colon + 1);
  if (colon < 0 || !(CHANNEL_NAMES as readonly string[]).includes(channel) || senderId === "") {
    throw new PairingError(
      `"${text}" is not a sender; write channel:id, e.g. telegram:123456 (channels: ${CHANNEL_NAMES.join(", ")})`,
    );
  }
  const name = channel as ChannelName;
  return { channel: name, senderId: senderKey(name, senderId) };
}

function auditEvent(action: string, sender: PairedSender) {
  return { action, entity: "sender", entityId: `${sender.channel}:${sender.senderId}`, note: sender.channel };
}
