// Conversation history in SQLite, keyed channel:chat:sender. Two people never share a session.
// A session remembers the grants its last turn ran with: when a person's grants were narrowed since (a
// caregiver no longer looking after Dad), the conversation is set aside, so what they were told about a
// member they may no longer see is neither shown to the model again nor summarised into their notes.
import type { Actor } from "../access/actor.js";
import { type Db, nowIso, statement, writeTransaction } from "../storage/db.js";

export interface SessionMessage {
  id: number;
  role: "user" | "assistant";
  content: string;
  createdAt: string;
}

/** Builds the session key of one sender in one chat on one channel. */
export function sessionKey(channel: string, chatId: string, senderId: string): string {
  return `${channel}:${chatId}:${senderId}`;
}

export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Messages still in the conversation (not yet summarised into memory), oldest first. */
  live(key: string): SessionMessage[] {
    return statement(
      this.db,
      `SELECT id, role, content, created_at AS createdAt FROM session_messages
         WHERE session_key = ? AND archived = 0 ORDER BY id`,
    ).all(key) as SessionMessage[];
  }

  /** Stores one exchange (the user's message and the final reply), and the grants it ran with, in one transaction. */
  appendTurn(key: string, userText: string, replyText: string, grants: Actor["grants"]): void {
    const now = nowIso(this.clock);
    const insert = statement(
      this.db,
      "INSERT INTO session_messages (session_key, role, content, created_at) VALUES (?, ?, ?, ?)",
    );
    writeTransaction(this.db, () => {
      statement(
        this.db,
        `INSERT INTO sessions (key, created_at, updated_at, grants) VALUES (?, ?, ?, ?)
           ON CONFLICT(key) DO UPDATE SET updated_at = excluded.updated_at, grants = excluded.grants`,
      ).run(key, now, now, JSON.stringify(grants));
      insert.run(key, "user", userText, now);
      insert.run(key, "assistant", replyText, now);
    });
  }

  /**
   * Sets the live conversation aside (out of the context, unsummarised, kept on disk) when the session last
   * ran with a member that `grants` no longer include; true if it did.
   */
  setAsideIfNarrowed(key: string, grants: Actor["grants"]): boolean {
    const row = statement(this.db, "SELECT grants FROM sessions WHERE key = ?").get(key) as
      | { grants: string | null }
      | undefined;
    if (!row?.grants) return false;
    const before = JSON.parse(row.grants) as Actor["grants"];
    const covered = grants === "*" || (before !== "*" && before.every((member) => grants.includes(member)));
    if (covered) return false;
    writeTransaction(this.db, () => {
      statement(
        this.db,
        "UPDATE session_messages SET archived = 1 WHERE session_key = ? AND archived = 0",
      ).run(key);
      statement(this.db, "UPDATE sessions SET grants = ? WHERE key = ?").run(JSON.stringify(grants), key);
    });
    return true;
  }

  /** Marks messages up to `lastId` as summarised: they leave the context but stay on disk. */
  archiveThrough(key: string, lastId: number): void {
    statement(this.db, "UPDATE session_messages SET archived = 1 WHERE session_key = ? AND id <= ?").run(
      key,
      lastId,
    );
  }

  /** Numbers for `medbot status`. */
  counts(): { sessions: number; messages: number } {
    const row = statement(
      this.db,
      "SELECT (SELECT COUNT(*) FROM sessions) AS sessions, (SELECT COUNT(*) FROM session_messages) AS messages",
    ).get() as { sessions: number; messages: number };
    return row;
  }
}
