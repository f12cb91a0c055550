// The SQLite database (WAL): one file, private, migrated forward by numbered steps.

import * as fs from "node:fs";
import Database from "better-sqlite3";
import { anchorQuietly, signAuditHeadsWith } from "../audit/audit-head.js";
import { markDatabaseCreated, refuseEmptiedDatabase } from "./db-marker.js";
import { AUDIT_HEAD_STEP, MIGRATIONS } from "./migrations.js";
import { touchPrivateFile } from "./private-fs.js";

export type Db = Database.Database;

/** How a database is opened: `auditSigningKey` (paths.auditSigningKey, audit.signHead) signs its audit heads. */
export interface OpenOptions {
  auditSigningKey?: string;
}

/**
 * Opens (creating 0600 if needed) and migrates the database at `file`; throws DatabaseDamagedError for an
 * empty file where a database was before.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const onDisk = file !== ":memory:";
  if (onDisk) {
    refuseEmptiedDatabase(file);
    touchPrivateFile(file);
  }
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // FULL: a committed health record survives a power cut, not only a crash.
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  const before = migrate(db);
  if (onDisk) markDatabaseCreated(file);
  const signing = onDisk && options.auditSigningKey !== undefined;
  if (signing) signAuditHeadsWith(db, options.auditSigningKey as string);
  // An archive from before the head file existed gets one now, over its chain as it stands; with signing just
  // turned on, the key is created now and signs the head as it stands.
  if (onDisk && (before < AUDIT_HEAD_STEP || (signing && !fs.existsSync(options.auditSigningKey as string))))
    anchorQuietly(db);
  return db;
}

/** Runs the steps the database has not had yet; returns the version it was at. */
function migrate(db: Db): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let step = current; step < MIGRATIONS.length; step++) {
    writeTransaction(db, () => {
      // Another process may have migrated while this one waited for the write lock.
      if ((db.pragma("user_version", { simple: true }) as number) > step) return;
      db.exec(MIGRATIONS[step]!);
      db.pragma(`user_version = ${step + 1}`);
    });
  }
  return current;
}

/**
 * Runs `work` as one write transaction and returns its result. The transaction begins IMMEDIATE (it takes
 * the write lock first): a deferred one that read before writing cannot wait for another process's lock
 * (SQLite returns `database is locked` without calling the busy handler), so the CLI and the gateway
 * writing together would fail. Nested inside another transaction it is a savepoint.
 */
export function writeTransaction<T>(db: Db, work: () => T): T {
  return db.transaction(work).immediate();
}

/**
 * Runs `work` (one small write) committed without waiting for the disk. In WAL mode a commit at
 * synchronous=NORMAL survives a crash of medbot though not a power cut, and the next FULL commit makes it
 * durable too. Only for bookkeeping about crashes (a turn's attempt count), never for what the family said.
 */
export function crashDurableWrite<T>(db: Db, work: () => T): T {
  db.pragma("synchronous = NORMAL");
  try {
    return work();
  } finally {
    db.pragma("synchronous = FULL");
  }
}

/** ISO-8601 UTC timestamp for rows. */
export function nowIso(clock: () => Date = () => new Date()): string {
  return clock().toISOString();
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** A prepared statement compiled once per connection, for hot paths (the gateway's queue, sessions). */
export function statement(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  let prepared = cache.get(sql);
  if (!prepared) {
    prepared = db.prepare(sql);
    cache.set(sql, prepared);
  }
  return prepared;
}
