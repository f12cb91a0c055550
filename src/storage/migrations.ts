// Every schema step of medbot.db, in order. Append only: a released step is never edited.
import { ARCHIVE_SCHEMA } from "./archive-schema.js";

/** The step that begins the audit head file (a no-op for SQLite; its place in MIGRATIONS is what counts). */
const AUDIT_HEAD_MARKER = "SELECT 'audit head file';";

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
  // Gateway: the durable inbox (de-duplicated per platform message) and outbox (replies until sent).
  `CREATE TABLE gateway_inbox (
     id INTEGER PRIMARY KEY,
     channel TEXT NOT NULL,
     account TEXT NOT NULL,
     chat_id TEXT NOT NULL,
     message_id TEXT NOT NULL,
     session_key TEXT NOT NULL,
     message TEXT NOT NULL,
     actor TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
     received_at TEXT NOT NULL,
     done_at TEXT,
     UNIQUE (channel, account, chat_id, message_id)
   );
   CREATE INDEX gateway_inbox_pending ON gateway_inbox (status, id);
   CREATE TABLE gateway_outbox (
     id INTEGER PRIMARY KEY,
     inbox_id INTEGER REFERENCES gateway_inbox(id),
     channel TEXT NOT NULL,
     account TEXT NOT NULL,
     chat_id TEXT NOT NULL,
     reply_context TEXT,
     text TEXT NOT NULL,
     chunks_sent INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     sent_at TEXT,
     failed_at TEXT
   );
   CREATE INDEX gateway_outbox_unsent ON gateway_outbox (sent_at, failed_at, id);`,
  // Pairing (src/access/pairing.ts): pending one-time codes and the senders the owner approved.
  `CREATE TABLE pairing_requests (
     channel TEXT NOT NULL,
     sender_id TEXT NOT NULL,
     code TEXT NOT NULL UNIQUE,
     created_at TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     PRIMARY KEY (channel, sender_id)
   );
   CREATE TABLE approved_senders (
     channel TEXT NOT NULL,
     sender_id TEXT NOT NULL,
     approved_at TEXT NOT NULL,
     PRIMARY KEY (channel, sender_id)
   );`,
  // Sends to contacts (src/sharing/contact-sends.ts): drafts awaiting a granted person's confirmation; the
  // outbox learns to carry a document and a subject for messages that answer no inbound message.
  `ALTER TABLE gateway_outbox ADD COLUMN document TEXT;
   ALTER TABLE gateway_outbox ADD COLUMN subject TEXT;
   CREATE TABLE contact_drafts (
     id INTEGER PRIMARY KEY,
     code TEXT NOT NULL UNIQUE,
     member_id TEXT NOT NULL,
     contact_name TEXT NOT NULL,
     contact_channel TEXT NOT NULL,
     contact_address TEXT NOT NULL,
     file TEXT NOT NULL,
     sha256 TEXT NOT NULL,
     requested_by TEXT NOT NULL,
     created_at TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'cancelled')),
     decided_by TEXT,
     decided_at TEXT,
     outbox_id INTEGER REFERENCES gateway_outbox(id)
   );`,
  // The scheduler (src/scheduler/): cron jobs owned by the chat that made them, how far each source has
  // been looked at, and every occurrence delivered or missed (unique, so nothing is sent twice).
  `CREATE TABLE cron_jobs (
     id INTEGER PRIMARY KEY,
     owner_person TEXT NOT NULL,
     channel TEXT NOT NULL,
     account TEXT NOT NULL,
     chat_id TEXT NOT NULL,
     message TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('at', 'every', 'cron')),
     spec TEXT NOT NULL,
     timezone TEXT NOT NULL,
     grace_ms INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     done_at TEXT,
     removed_at TEXT
   );
   CREATE INDEX cron_jobs_chat ON cron_jobs (channel, chat_id) WHERE removed_at IS NULL;
   CREATE TABLE scheduler_sources (
     source TEXT PRIMARY KEY,
     checked_until TEXT NOT NULL
   );
   CREATE TABLE scheduled_deliveries (
     id INTEGER PRIMARY KEY,
     source TEXT NOT NULL,
     event_key TEXT NOT NULL,
     due_at TEXT NOT NULL,
     outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'missed')),
     late_ms INTEGER NOT NULL,
     outbox_id INTEGER REFERENCES gateway_outbox(id),
     settled_at TEXT NOT NULL,
     UNIQUE (source, event_key, due_at)
   );
   CREATE TABLE medication_doses (
     id INTEGER PRIMARY KEY,
     member_id TEXT NOT NULL REFERENCES members(id),
     medication_id INTEGER NOT NULL REFERENCES medications(id),
     scheduled_at TEXT,
     outcome TEXT NOT NULL CHECK (outcome IN ('taken', 'missed', 'skipped')),
     taken_at TEXT,
     note TEXT,
     reported_by TEXT NOT NULL,
     channel TEXT NOT NULL,
     created_at TEXT NOT NULL,
     audit_seq INTEGER NOT NULL REFERENCES audit_log(seq)
   );
   CREATE INDEX medication_doses_member ON medication_doses (member_id, scheduled_at);`,
  // Workspace skills the owner approved (medbot skills approve): a changed file needs approval again.
  `CREATE TABLE skill_approvals (
     name TEXT PRIMARY KEY,
     sha256 TEXT NOT NULL,
     approved_at TEXT NOT NULL
   );`,
  // The daily risk scan (src/scheduler/risk-scan.ts): what it last reported to each target person, so an
  // unchanged finding is repeated only when it got worse, came back, or about a week later.
  `CREATE TABLE risk_findings (
     person TEXT NOT NULL,
     member_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     subject TEXT NOT NULL,
     level INTEGER NOT NULL,
     since TEXT NOT NULL,
     first_reported TEXT NOT NULL,
     last_reported TEXT NOT NULL,
     PRIMARY KEY (person, member_id, kind, subject)
   );`,
  // Scheduled sends held at delivery (src/access/scheduled-chats.ts): the chat lost its access since the job
  // was made, so the occurrence is settled as 'held' with the reason that `medbot cron list` shows.
  `CREATE TABLE scheduled_deliveries_next (
     id INTEGER PRIMARY KEY,
     source TEXT NOT NULL,
     event_key TEXT NOT NULL,
     due_at TEXT NOT NULL,
     outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'missed', 'held')),
     late_ms INTEGER NOT NULL,
     outbox_id INTEGER REFERENCES gateway_outbox(id),
     settled_at TEXT NOT NULL,
     reason TEXT,
     UNIQUE (source, event_key, due_at)
   );
   INSERT INTO scheduled_deliveries_next (id, source, event_key, due_at, outcome, late_ms, outbox_id, settled_at)
     SELECT id, source, event_key, due_at, outcome, late_ms, outbox_id, settled_at FROM scheduled_deliveries;
   DROP TABLE scheduled_deliveries;
   ALTER TABLE scheduled_deliveries_next RENAME TO scheduled_deliveries;`,
  // The grants a session's last turn ran with (JSON: "*" or member ids): narrowed grants set the
  // conversation aside (src/agent/sessions.ts), so nothing said under the wider grants is shown again.
  "ALTER TABLE sessions ADD COLUMN grants TEXT;",
  // Poison messages (src/gateway/turn-deadline.ts): turns started per inbox row, counted before the model is
  // called, and when a row was set aside instead of a third attempt.
  `ALTER TABLE gateway_inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE gateway_inbox ADD COLUMN parked_at TEXT;`,
  // The single heartbeat row /healthz writes to prove the database takes writes (src/gateway/storage-health.ts).
  "CREATE TABLE gateway_heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);",
  // No schema change: from this step on the audit chain's end is anchored in the head file beside the
  // database (src/audit/audit-head.ts); openDatabase writes it when an older database reaches this step,
  // so a head file missing later means it was removed, not that it never existed.
  AUDIT_HEAD_MARKER,
  // Readings keep what was said (src/archive/metric-units.ts): the value(s) and unit as measured when they
  // differ from the canonical ones (NULL: the same), a glucose reading's meal context, and each member's
  // preferred display unit per kind (JSON {"glucose": "mg/dL"}; NULL: the household's, else canonical).
  `ALTER TABLE metrics ADD COLUMN original_value REAL;
   ALTER TABLE metrics ADD COLUMN original_value2 REAL;
   ALTER TABLE metrics ADD COLUMN original_unit TEXT;
   ALTER TABLE metrics ADD COLUMN context TEXT;
   ALTER TABLE members ADD COLUMN unit_preferences TEXT;`,
  // Reversible redaction (src/security/pseudonyms.ts): which identifier each pseudonym the model saw stands
  // for, per conversation. A retired row keeps its token (numbers are never reused) but loses its value.
  `CREATE TABLE pseudonyms (
     session_key TEXT NOT NULL,
     token TEXT NOT NULL,
     kind TEXT NOT NULL,
     value_key TEXT,
     value TEXT,
     created_at TEXT NOT NULL,
     retired_at TEXT,
     PRIMARY KEY (session_key, token)
   );
   CREATE UNIQUE INDEX pseudonyms_value ON pseudonyms (session_key, value_key) WHERE value_key IS NOT NULL;`,
  // Members merged into another or removed (src/archive/member-changes.ts): the member's row stays for the
  // history; this one says when it stopped answering and, for a merge, which member took over its record.
  `CREATE TABLE member_retirements (
     member_id TEXT PRIMARY KEY REFERENCES members(id),
     removed_at TEXT NOT NULL,
     merged_into TEXT REFERENCES members(id),
     audit_seq INTEGER NOT NULL REFERENCES audit_log(seq)
   );`,
  // Why a version replaced the one before (a correction's reason, as said), kept with the version.
  `ALTER TABLE facts ADD COLUMN change_reason TEXT;
   ALTER TABLE symptoms ADD COLUMN change_reason TEXT;
   ALTER TABLE medications ADD COLUMN change_reason TEXT;`,
  // The member a delivery was for (src/agent/dose-replies.ts reads it; NULL: not about a member, like a
  // cron job). Medication reminders settled before this step get theirs from the event key ("mum@08:00>…";
  // a member id holds no "@").
  `ALTER TABLE scheduled_deliveries ADD COLUMN member_id TEXT;
   UPDATE scheduled_deliveries SET member_id = substr(event_key, 1, instr(event_key, '@') - 1)
     WHERE source = 'medication' AND instr(event_key, '@') > 1;`,
];

/** The step (user_version) from which the audit head file exists: found by its marker, wherever it lands. */
export const AUDIT_HEAD_STEP = MIGRATIONS.indexOf(AUDIT_HEAD_MARKER) + 1;
