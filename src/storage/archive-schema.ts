// The family archive's first tables (step 2 of MIGRATIONS; later steps, like every room's tables, are in
// migrations.ts). Rows are never overwritten in place: a correction adds a new row that replaces the old
// one, a removal stamps the row; both keep the history. Every row names the audit entry (who, which channel
// and message, when) that created it.

export const ARCHIVE_SCHEMA = `
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  channel TEXT NOT NULL,
  message_id TEXT,
  action TEXT NOT NULL,
  member_id TEXT,
  entity TEXT,
  entity_id TEXT,
  note TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_by_member ON audit_log (member_id, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE members (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  relationship TEXT,
  sex TEXT,
  birth_date TEXT,
  blood_type TEXT,
  emergency_contact TEXT,
  timezone TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  audit_seq INTEGER NOT NULL REFERENCES audit_log(seq)
);
CREATE TABLE member_aliases (
  member_id TEXT NOT NULL REFERENCES members(id),
  alias TEXT NOT NULL,
  alias_key TEXT NOT NULL,
  PRIMARY KEY (alias_key, member_id)
);

CREATE TABLE facts (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(id),
  category TEXT NOT NULL,
  text TEXT NOT NULL,
  details TEXT,
  since TEXT,
  status TEXT NOT NULL CHECK (status IN ('reported', 'confirmed', 'unreviewed')),
  replaces INTEGER REFERENCES facts(id),
  replaced_by INTEGER REFERENCES facts(id),
  removed_at TEXT,
  removed_reason TEXT,
  created_at TEXT NOT NULL,
  audit_seq INTEGER NOT NULL REFERENCES audit_log(seq)
);
CREATE INDEX facts_current ON facts (member_id, category) WHERE replaced_by IS NULL AND removed_at IS NULL;

CREATE TABLE symptoms (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(id),
  name TEXT NOT NULL,
  onset TEXT NOT NULL,
  ended TEXT,
  severity TEXT,
  notes TEXT,
  status TEXT NOT NULL CHECK (status IN ('reported', 'confirmed', 'unreviewed')),
  replaces INTEGER REFERENCES symptoms(id),
  replaced_by INTEGER REFERENCES symptoms(id),
  removed_at TEXT,
  removed_reason TEXT,
  created_at TEXT NOT NULL,
  audit_seq INTEGER NOT NULL REFERENCES audit_log(seq)
);
CREATE INDEX symptoms_timeline ON symptoms (member_id, onset) WHERE replaced_by IS NULL AND removed_at IS NULL;

CREATE TABLE medications (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(id),
  name TEXT NOT NULL,
  dose TEXT,
  route TEXT,
  frequency TEXT,
  times_of_day TEXT NOT NULL DEFAULT '[]',
  timezone TEXT,
  start_date TEXT,
  stop_date TEXT,
  reason TEXT,
  state TEXT NOT NULL CHECK (state IN ('active', 'stopped')),
  status TEXT NOT NULL CHECK (status IN ('reported', 'confirmed', 'unreviewed')),
  replaces INTEGER REFERENCES medications(id),
  replaced_by INTEGER REFERENCES medications(id),
  removed_at TEXT,
  removed_reason TEXT,
  created_at TEXT NOT NULL,
  audit_seq INTEGER NOT NULL REFERENCES audit_log(seq)
);
CREATE INDEX medications_current ON medications (member_id, state) WHERE replaced_by IS NULL AND removed_at IS NULL;

CREATE TABLE metric_kinds (
  kind TEXT PRIMARY KEY,
  label TEXT NOT NULL,
  unit TEXT NOT NULL,
  min REAL,
  max REAL
);

CREATE TABLE metrics (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(id),
  kind TEXT NOT NULL,
  value REAL NOT NULL,
  value2 REAL,
  pulse REAL,
  unit TEXT NOT NULL,
  measured_at TEXT NOT NULL,
  note TEXT,
  status TEXT NOT NULL CHECK (status IN ('reported', 'confirmed', 'unreviewed')),
  removed_at TEXT,
  removed_reason TEXT,
  created_at TEXT NOT NULL,
  audit_seq INTEGER NOT NULL REFERENCES audit_log(seq)
);
CREATE INDEX metrics_series ON metrics (member_id, kind, measured_at) WHERE removed_at IS NULL;

CREATE TABLE reports (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(id),
  title TEXT NOT NULL,
  report_date TEXT,
  file TEXT,
  source TEXT NOT NULL,
  summary TEXT NOT NULL,
  key_values TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL CHECK (status IN ('reported', 'confirmed', 'unreviewed')),
  removed_at TEXT,
  removed_reason TEXT,
  created_at TEXT NOT NULL,
  audit_seq INTEGER NOT NULL REFERENCES audit_log(seq)
);

CREATE TABLE exports (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(id),
  file TEXT NOT NULL,
  format TEXT NOT NULL,
  created_at TEXT NOT NULL,
  audit_seq INTEGER NOT NULL REFERENCES audit_log(seq)
);

-- Drug-interaction lookups (no member data: only the drug names asked about and the answer).
CREATE TABLE drug_interaction_cache (
  pair_key TEXT PRIMARY KEY,
  answer TEXT NOT NULL,
  fetched_at TEXT NOT NULL
);

-- Members whose Markdown views are older than the database; rendered after the commit, and on start.
CREATE TABLE stale_views (member_id TEXT PRIMARY KEY REFERENCES members(id));
`;
