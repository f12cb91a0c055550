// The audit chain's anchor outside the database. The hash chain alone shows an edited entry, but not a chain
// re-hashed after an edit, a cut tail, or entries deleted and renumbered: the database holds everything it
// would be checked against. A head file beside the database (count + last hash, 0600, written atomically)
// remembers how far the chain reached, so `medbot audit --verify` and doctor see history cut or rewritten.
// With audit.signHead the head is also signed (audit-signature.ts), so it cannot be forged without the key.
import type { KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Db } from "../storage/db.js";
import { AUDIT_HEAD_STEP } from "../storage/migrations.js";
import { writePrivateFile } from "../storage/private-fs.js";
import { AUDIT_COLUMNS, type AuditEntry, auditEntryHash, GENESIS_HASH } from "./audit-chain.js";
import {
  checkHeadSignature,
  createSigningKey,
  headSignatureProblem,
  loadSigningKey,
  signHead,
} from "./audit-signature.js";

/** What the head file holds: the last entry the chain had reached, when it was anchored. */
export interface AuditHead {
  seq: number;
  hash: string;
  /** The entry's own time, so a renumbered entry is recognised at its new place. */
  at: string;
  /** Present when audit.signHead is on (audit-signature.ts). */
  key?: string;
  signature?: string;
}

/** The head of an archive without entries yet. */
const GENESIS_HEAD: AuditHead = { seq: 0, hash: GENESIS_HASH, at: "" };

/** The triggers that make the audit table append-only (src/storage/archive-schema.ts). */
export const AUDIT_TRIGGERS = ["audit_log_no_update", "audit_log_no_delete"] as const;

/** The head file of a database file (`medbot.db-audit-head.json` beside it); none for an in-memory one. */
export function auditHeadFile(db: Db): string | undefined {
  if (db.memory || db.name === "" || db.name === ":memory:") return undefined;
  return `${path.resolve(db.name)}-audit-head.json`;
}

/** The head file's content; undefined when there is none; throws naming the file when it is not a head. */
export function readAuditHead(file: string): AuditHead | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let head: unknown;
  try {
    head = JSON.parse(text);
  } catch {
    head = undefined;
  }
  const { seq, hash, at, key, signature } = (head ?? {}) as Partial<AuditHead>;
  if (
    !Number.isSafeInteger(seq) ||
    (seq as number) < 0 ||
    typeof hash !== "string" ||
    !/^[0-9a-f]{64}$/.test(hash) ||
    typeof at !== "string" ||
    (key !== undefined && typeof key !== "string") ||
    (signature !== undefined && typeof signature !== "string")
  )
    throw new Error(`${file} is not an audit head file (expected {"seq", "hash", "at"})`);
  return {
    seq: seq as number,
    hash,
    at,
    ...(key === undefined ? {} : { key }),
    ...(signature === undefined ? {} : { signature }),
  };
}

/**
 * How long after an append the head moves. An fsynced head write after every append made each audited
 * reply cost three to four times as much (npm run bench: p50 1.5 against 0.45 ms on an idle machine, 14
 * against 3.5 ms on a busy one); once a second, a burst of replies shares one write.
 */
export const AUDIT_ANCHOR_DELAY_MS = 1_000;

const pending = new WeakMap<Db, NodeJS.Timeout>();
const closeWrapped = new WeakSet<Db>();
const signingKeys = new WeakMap<Db, string>();

/**
 * From now on every head written for `db` is signed with the key in `keyFile` (audit.signHead; openDatabase
 * calls this). The key is created at the first head written without it, and that first head adopts the
 * (unsigned) head it finds; once the key exists, a head that is unsigned or not signed by it is never
 * continued, so medbot cannot sign a head someone else wrote.
 */
export function signAuditHeadsWith(db: Db, keyFile: string): void {
  signingKeys.set(db, keyFile);
}

/**
 * Moves the head at most AUDIT_ANCHOR_DELAY_MS after an append, once its transaction is over, and when the
 * database is closed. A crash before that leaves the database ahead of the head, which verify accepts: the
 * entries written since the last head move (at most about a second's worth) are the unprotected window.
 */
export function scheduleAuditAnchor(db: Db): void {
  if (auditHeadFile(db) === undefined || pending.has(db)) return;
  if (!closeWrapped.has(db)) {
    closeWrapped.add(db);
    const close = db.close.bind(db);
    db.close = () => {
      if (pending.has(db)) anchorQuietly(db);
      return close();
    };
  }
  pending.set(db, setTimeout(() => anchorWhenCommitted(db), AUDIT_ANCHOR_DELAY_MS).unref());
}

function anchorWhenCommitted(db: Db): void {
  if (!db.open) return;
  // A transaction held open across awaits is not over yet: try again after it.
  if (db.inTransaction) {
    pending.set(db, setTimeout(() => anchorWhenCommitted(db), 10).unref());
    return;
  }
  anchorQuietly(db);
}

/**
 * Moves the head where nobody could handle a failure (a timer, close, opening): a head that cannot be written
 * (disk full) must not take the gateway down. The head then lags, which verify accepts, or, before the first
 * one, is missing, which verify reports.
 */
export function anchorQuietly(db: Db): void {
  try {
    anchorAuditHead(db);
  } catch {
    // Left for the next append to try again.
  }
}

/**
 * Advances the head file to the last committed entry, but only over a chain that continues the head intact:
 * a broken or cut chain is left for verify to name, never anchored. Never moves the head back.
 */
export function anchorAuditHead(db: Db): void {
  clearTimeout(pending.get(db));
  pending.delete(db);
  const file = auditHeadFile(db);
  if (!file || !db.open || db.inTransaction || db.readonly) return;
  let head: AuditHead | undefined;
  try {
    head = readAuditHead(file);
  } catch {
    return;
  }
  const rows = db
    .prepare(`SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE seq >= ? ORDER BY seq`)
    .all(head?.seq ?? 0) as AuditEntry[];
  const signer = headSigner(db, file, head, rows.length > 0);
  if (signer === null) return;
  let previous: AuditHead = head ? { seq: head.seq, hash: head.hash, at: head.at } : GENESIS_HEAD;
  if (head && head.seq > 0) {
    const anchored = rows.shift();
    if (anchored?.seq !== head.seq || anchored.hash !== head.hash) return;
  }
  // A new archive gets a head at zero entries at once, so that from then on a missing head means removed.
  // A head the new key adopts is written again, signed, even without new entries.
  if (rows.length === 0 && head && (!signer || head.signature !== undefined)) return;
  for (const row of rows) {
    const { hash, ...rest } = row;
    if (row.seq !== previous.seq + 1 || row.prevHash !== previous.hash || auditEntryHash(rest) !== hash)
      return;
    previous = { seq: row.seq, hash, at: row.at };
  }
  // Another process may have moved it further meanwhile (the CLI beside the gateway): keep the further one.
  const now = safeRead(file);
  if (now && (now.seq > previous.seq || (now.seq === previous.seq && (!signer || now.signature)))) return;
  const signed = signer ? { ...previous, ...signHead(previous, signer) } : previous;
  writePrivateFile(file, `${JSON.stringify(signed)}\n`);
}

/**
 * The key heads of `db` are signed with: undefined when audit.signHead is off, null when the head must not
 * be continued (unsigned or signed otherwise while the key exists, or missing over existing entries; or
 * signed while the key is gone), so verify names it instead of medbot signing over it.
 */
function headSigner(
  db: Db,
  file: string,
  head: AuditHead | undefined,
  hasEntries: boolean,
): KeyObject | undefined | null {
  const keyFile = signingKeys.get(db);
  if (!keyFile) return undefined;
  const key = loadSigningKey(keyFile);
  if (!key) return head?.signature === undefined ? createSigningKey(keyFile) : null;
  if (!head) return hasEntries ? null : key;
  return headSignatureProblem(head, key, file) === undefined ? key : null;
}

function safeRead(file: string): AuditHead | undefined {
  try {
    return readAuditHead(file);
  } catch {
    return undefined;
  }
}

/** What the head file says about the database's chain: cut, rewritten or renumbered history. */
export function checkAuditHead(db: Db, signingKey?: string): string[] {
  const file = auditHeadFile(db);
  if (!file) return [];
  let head: AuditHead | undefined;
  try {
    head = readAuditHead(file);
  } catch (error) {
    return [(error as Error).message];
  }
  const signature = head && signingKey ? checkHeadSignature(head, signingKey, file) : [];
  return [...signature, ...checkHeadAgainstChain(db, file, head)];
}

function checkHeadAgainstChain(db: Db, file: string, head: AuditHead | undefined): string[] {
  const last = db.prepare("SELECT seq, at FROM audit_log ORDER BY seq DESC LIMIT 1").get() as
    | { seq: number; at: string }
    | undefined;
  if (!head) {
    // An archive no medbot with head files has opened yet (doctor reads without migrating) has none to miss.
    const version = db.pragma("user_version", { simple: true }) as number;
    return last && version >= AUDIT_HEAD_STEP
      ? [`the head file ${path.basename(file)} is missing: a cut or rewritten history cannot be ruled out`]
      : [];
  }
  if (head.seq === 0) return [];
  if (!last || last.seq < head.seq) {
    const end = last?.seq ?? 0;
    const cut = head.seq - end;
    return [
      `the log ends at entry ${end} but the head file recorded ${head.seq} entries: ${
        last?.at === head.at
          ? `${cut === 1 ? "1 entry was" : `${cut} entries were`} deleted and the later ones renumbered`
          : `entries ${end + 1}..${head.seq} were cut off`
      }`,
    ];
  }
  const anchored = db.prepare("SELECT hash FROM audit_log WHERE seq = ?").get(head.seq) as
    | { hash: string }
    | undefined;
  if (!anchored) return [`entry ${head.seq}, the last one the head file recorded, is missing`];
  if (anchored.hash !== head.hash)
    return [`entry ${head.seq} differs from the head file: the chain was rewritten and re-hashed`];
  return [];
}

/** The append-only triggers that are gone, or no longer refuse the change (replaced by a no-op). */
export function checkAuditTriggers(db: Db): string[] {
  const present = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
    .all() as { name: string; sql: string }[];
  const missing = AUDIT_TRIGGERS.filter((name) => {
    const trigger = present.find((t) => t.name === name);
    const event = name.endsWith("update") ? "UPDATE" : "DELETE";
    return (
      !trigger ||
      !new RegExp(`BEFORE ${event} ON audit_log`, "i").test(trigger.sql) ||
      !/RAISE\s*\(\s*ABORT/i.test(trigger.sql)
    );
  });
  return missing.length === 0
    ? []
    : [`the append-only triggers ${missing.join(", ")} are missing or disabled`];
}
