// The SQLite database (WAL): one file, private, migrated forward by numbered steps.
import Database from "better-sqlite3";
import { touchPrivateFile } from "./private-fs.js";

export type Db = Database.Database;

/** Schema steps; step N runs once, when PRAGMA user_version is below N. Append only. */
const MIGRATIONS: readonly string[] = [
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
];

/** Opens (creating 0600 if needed) and migrates the database at `file`. */
export function openDatabase(file: string): Db {
  if (file !== ":memory:") touchPrivateFile(file);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // FULL: a committed health record survives a power cut, not only a crash.
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let step = current; step < MIGRATIONS.length; step++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[step]!);
      db.pragma(`user_version = ${step + 1}`);
    })();
  }
}

/** ISO-8601 UTC timestamp for rows. */
export function nowIso(clock: () => Date = () => new Date()): string {
  return clock().toISOString();
}
