// Every schema step of medbot.db, in order. Append only: a released step is never edited.
import { ARCHIVE_SCHEMA } from "../archive/schema.js";

/** Schema steps; step N runs once, when PRAGMA user_version is below N. Append only. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE sessions (
     key TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE session_messages (
     id INTEGER PRIMARY KEY,
     session_key TEXT NOT NULL REFERENCES sessions(key) ON DELETE CASCADE,
     role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
     content TEXT NOT NULL,
     created_at TEXT NOT NULL,
     archived INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX session_messages_live ON session_messages (session_key, archived, id);`,
  ARCHIVE_SCHEMA,
];
