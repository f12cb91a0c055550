// Conversation history in SQLite, keyed channel:chat:sender. Two people never share a session.
import { type Db, nowIso, statement } from "../storage/db.js";

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

  /** Stores one exchange (the user's message and the final reply) in one transaction. */
  appendTurn(key: string, userText: string, replyText: string): void {
    const now = nowIso(this.clock);
    const insert = statement(
      this.db,
      "INSERT INTO session_messages (session_key, role, content, created_at) VALUES (?, ?, ?, ?)",
    );
    this.db.transaction(() => {
      statement(
        this.db,
        `INSERT INTO sessions (key, created_at, updated_at) VALUES (?, ?, ?)
           ON CONFLICT(key) DO UPDATE SET updated_at = excluded.updated_at`,
      ).run(key, now, now);
      insert.run(key, "user", userText, now);
      insert.run(key, "assistant", replyText, now);
    })();
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
