// The durable inbox and outbox in medbot.db: a message is stored before its platform is acknowledged,
// and a reply stays in the outbox until every chunk of it has been sent.
import type { Actor } from "../access/actor.js";
import { appendAudit } from "../audit/audit-log.js";
import type { InboundMessage, OutboundMessage } from "../channels/types.js";
import type { ChannelName } from "../config/schema.js";
import { crashDurableWrite, type Db, nowIso, statement, writeTransaction } from "../storage/db.js";

/** A stored inbound message still to be answered. */
export interface InboxRow {
  id: number;
  sessionKey: string;
  message: InboundMessage;
}

/** A reply waiting to be sent; `chunksSent` chunks of it already reached the chat. */
export interface OutboxRow {
  id: number;
  message: OutboundMessage;
  chunksSent: number;
}

interface InboxRecord {
  id: number;
  session_key: string;
  message: string;
}

interface OutboxRecord {
  id: number;
  channel: string;
  account: string;
  chat_id: string;
  reply_context: string | null;
  text: string;
  chunks_sent: number;
  document: string | null;
  subject: string | null;
}

/** The session a message belongs to: one FIFO per channel, chat and sender. */
export function sessionKeyOf(message: Pick<InboundMessage, "channel" | "chatId" | "senderId">): string {
  return `${message.channel}:${message.chatId}:${message.senderId}`;
}

/** The inbox and outbox tables of one database. */
export class MessageQueue {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Stores an admitted message; undefined when the same platform message is already stored. `actor` is kept
   * as the record of who was let in on arrival; the turn acts with the grants resolved when it runs.
   */
  accept(message: InboundMessage, actor: Actor): InboxRow | undefined {
    const sessionKey = sessionKeyOf(message);
    const result = statement(
      this.db,
      `INSERT OR IGNORE INTO gateway_inbox
           (channel, account, chat_id, message_id, session_key, message, actor, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      message.channel,
      message.account,
      message.chatId,
      message.messageId,
      sessionKey,
      JSON.stringify(message),
      JSON.stringify(actor),
      nowIso(this.clock),
    );
    if (result.changes === 0) return undefined;
    return { id: Number(result.lastInsertRowid), sessionKey, message };
  }

  /**
   * Stores an admitted message too long to answer as handled, keeping its length but not its text, with the
   * short reply queued and audited (length and limit only); undefined when already stored.
   */
  acceptTooLong(
    message: InboundMessage,
    actor: Actor,
    reply: OutboundMessage,
    size: { characters: number; limit: number },
  ): InboxRow | undefined {
    return writeTransaction(this.db, () => {
      const row = this.accept({ ...message, text: "" }, actor);
      if (!row) return undefined;
      this.markDone(row.id);
      this.insertOutbound(row.id, reply);
      const note = `${message.channel}: ${size.characters} characters, limit ${size.limit}`;
      const event = {
        action: "message.too_long",
        entity: "chat",
        entityId: `${message.channel}:${message.chatId}`,
      };
      appendAudit(this.db, actor, { ...event, note }, this.clock);
      return row;
    });
  }

  /**
   * Counts a turn starting for an inbox row, committed before the model is called so a crash mid-turn counts
   * (without an fsync of its own: a crash, not a power cut, is what it counts); returns the attempt number, or
   * undefined when `maxAttempts` turns already started (set it aside).
   */
  beginTurn(inboxId: number, maxAttempts: number): number | undefined {
    const row = crashDurableWrite(this.db, () =>
      statement(
        this.db,
        "UPDATE gateway_inbox SET attempts = attempts + 1 WHERE id = ? AND attempts < ? RETURNING attempts",
      ).get(inboxId, maxAttempts),
    ) as { attempts: number } | undefined;
    return row?.attempts;
  }

  /** Uncounts a turn that a shutdown cancelled: it neither crashed nor overran, so it is not held against the message. */
  forgiveTurn(inboxId: number): void {
    statement(this.db, "UPDATE gateway_inbox SET attempts = max(attempts - 1, 0) WHERE id = ?").run(inboxId);
  }

  /**
   * Sets a poison message aside: closed without another turn, marked parked_at, its sender's one note queued,
   * and audited as message.parked (inbox row and attempts; never its text).
   */
  setAside(row: InboxRow, reply: OutboundMessage, actor: Actor): void {
    writeTransaction(this.db, () => {
      const { attempts } = statement(this.db, "SELECT attempts FROM gateway_inbox WHERE id = ?").get(
        row.id,
      ) as {
        attempts: number;
      };
      statement(
        this.db,
        "UPDATE gateway_inbox SET status = 'done', done_at = ?, parked_at = ? WHERE id = ? AND status = 'pending'",
      ).run(nowIso(this.clock), nowIso(this.clock), row.id);
      this.insertOutbound(row.id, reply);
      const { channel, chatId } = row.message;
      const note = `${channel}: inbox:${row.id} after ${attempts} attempts`;
      appendAudit(
        this.db,
        actor,
        { action: "message.parked", entity: "chat", entityId: `${channel}:${chatId}`, note },
        this.clock,
      );
    });
  }

  /** Inbound messages not answered yet, oldest first (after a restart: the ones a crash or stop left). */
  pending(): InboxRow[] {
    const rows = statement(
      this.db,
      "SELECT id, session_key, message FROM gateway_inbox WHERE status = 'pending' ORDER BY id",
    ).all() as InboxRecord[];
    return rows.map((row) => ({
      id: row.id,
      sessionKey: row.session_key,
      message: JSON.parse(row.message) as InboundMessage,
    }));
  }

  /**
   * Marks an inbox row answered and queues its reply (if any), in one transaction with the reply's audit
   * entry: who it answers (`actor`), which chat, which outbox row; never its text.
   */
  answer(inboxId: number, reply: OutboundMessage | undefined, actor: Actor): void {
    writeTransaction(this.db, () => {
      this.markDone(inboxId);
      if (!reply) return;
      const outboxId = this.insertOutbound(inboxId, reply);
      const chat = { entity: "chat", entityId: `${reply.channel}:${reply.chatId}` };
      appendAudit(this.db, actor, { action: "reply.send", ...chat, note: `outbox:${outboxId}` }, this.clock);
    });
  }

  /**
   * Closes a waiting message unanswered because its sender may no longer talk to medbot (revoked after it
   * arrived), audited as access.denied with the sender id and the reason; no reply is queued.
   */
  dropRevoked(row: InboxRow): void {
    const { channel, senderId } = row.message;
    writeTransaction(this.db, () => {
      this.markDone(row.id);
      const event = { action: "access.denied", entity: "sender", entityId: senderId };
      const unknown = { person: "unknown", channel, messageId: row.message.messageId, grants: [] };
      appendAudit(this.db, unknown, { ...event, note: `${channel}: revoked while waiting` }, this.clock);
    });
  }

  private markDone(inboxId: number): void {
    statement(
      this.db,
      "UPDATE gateway_inbox SET status = 'done', done_at = ? WHERE id = ? AND status = 'pending'",
    ).run(nowIso(this.clock), inboxId);
  }

  /** Queues a message that answers no inbound one (a confirmed send to a contact); returns its outbox id. */
  send(message: OutboundMessage): number {
    return this.insertOutbound(null, message);
  }

  private insertOutbound(inboxId: number | null, message: OutboundMessage): number {
    const result = statement(
      this.db,
      `INSERT INTO gateway_outbox
           (inbox_id, channel, account, chat_id, reply_context, text, document, subject, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      inboxId,
      message.channel,
      message.account,
      message.chatId,
      message.replyContext ? JSON.stringify(message.replyContext) : null,
      message.text,
      message.document ? JSON.stringify(message.document) : null,
      message.subject ?? null,
      nowIso(this.clock),
    );
    return Number(result.lastInsertRowid);
  }

  /** Replies of one channel (or of one chat of it) not fully sent yet, oldest first. */
  unsent(channel: ChannelName, chat?: Pick<OutboundMessage, "account" | "chatId">): OutboxRow[] {
    const columns = "id, channel, account, chat_id, reply_context, text, chunks_sent, document, subject";
    const pending = "sent_at IS NULL AND failed_at IS NULL AND channel = ?";
    const rows = (
      chat
        ? statement(
            this.db,
            `SELECT ${columns} FROM gateway_outbox WHERE ${pending} AND account = ? AND chat_id = ? ORDER BY id`,
          ).all(channel, chat.account, chat.chatId)
        : statement(this.db, `SELECT ${columns} FROM gateway_outbox WHERE ${pending} ORDER BY id`).all(
            channel,
          )
    ) as OutboxRecord[];
    return rows.map((row) => ({
      id: row.id,
      chunksSent: row.chunks_sent,
      message: {
        channel: row.channel as ChannelName,
        account: row.account,
        chatId: row.chat_id,
        text: row.text,
        ...(row.reply_context
          ? { replyContext: JSON.parse(row.reply_context) as Record<string, string> }
          : {}),
        ...(row.document ? { document: JSON.parse(row.document) as OutboundMessage["document"] } : {}),
        ...(row.subject ? { subject: row.subject } : {}),
      },
    }));
  }

  /** Records that chunk `index` (0-based) of a reply was sent; `last` marks the whole reply sent. */
  chunkSent(outboxId: number, index: number, last: boolean): void {
    statement(this.db, "UPDATE gateway_outbox SET chunks_sent = ?, sent_at = ? WHERE id = ?").run(
      index + 1,
      last ? nowIso(this.clock) : null,
      outboxId,
    );
  }

  /** Gives up on a reply the platform keeps refusing; it stays in the table, marked failed. */
  giveUp(outboxId: number): void {
    statement(this.db, "UPDATE gateway_outbox SET failed_at = ? WHERE id = ?").run(
      nowIso(this.clock),
      outboxId,
    );
  }

  /** Counts for /healthz: inbound messages not answered, replies not sent. */
  counts(): { pending: number; unsent: number } {
    const pending = statement(
      this.db,
      "SELECT count(*) AS n FROM gateway_inbox WHERE status = 'pending'",
    ).get() as {
      n: number;
    };
    const unsent = statement(
      this.db,
      "SELECT count(*) AS n FROM gateway_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    ).get() as {
      n: number;
    };
    return { pending: pending.n, unsent: unsent.n };
  }
}
