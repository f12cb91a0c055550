// The audit head file: where the chain had reached, outside the database. It moves only over committed,
// intact entries, lags by at most the anchor delay, and its absence is noticed once an archive has one.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import {
  AUDIT_ANCHOR_DELAY_MS,
  anchorAuditHead,
  auditHeadFile,
  readAuditHead,
} from "../../src/audit/audit-head.js";
import { appendAudit, listAudit, verifyAudit } from "../../src/audit/audit-log.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { AUDIT_HEAD_STEP, MIGRATIONS } from "../../src/storage/migrations.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-audit-head-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  vi.useRealTimers();
});

let count = 0;
function freshArchive(): { file: string; db: Db; head: string } {
  const file = path.join(scratch, `a${++count}`, "medbot.db");
  const db = openDatabase(file);
  return { file, db, head: `${file}-audit-head.json` };
}

const owner = hostOwner("cli");
const append = (db: Db, n: number) => {
  for (let i = 0; i < n; i++) db.transaction(() => appendAudit(db, owner, { action: "member.add" }))();
};
const lastEntry = (db: Db) => {
  const last = listAudit(db).at(-1)!;
  return { seq: last.seq, hash: last.hash, at: last.at };
};

describe("the audit head file", () => {
  it("exists from a new archive on (0600, beside the database), at zero entries", () => {
    const { db, head } = freshArchive();
    expect(auditHeadFile(db)).toBe(head);
    expect(fs.statSync(head).mode & 0o777).toBe(0o600);
    expect(readAuditHead(head)).toEqual({ seq: 0, hash: "0".repeat(64), at: "" });
    expect(verifyAudit(db)).toEqual({ ok: true, entries: 0, problems: [] });
    db.close();
  });

  it("moves to the last committed entry within the anchor delay, and when the database closes", () => {
    vi.useFakeTimers();
    const { db, head } = freshArchive();
    append(db, 3);
    expect(readAuditHead(head)?.seq).toBe(0);
    vi.advanceTimersByTime(AUDIT_ANCHOR_DELAY_MS);
    expect(readAuditHead(head)).toEqual(lastEntry(db));
    append(db, 2);
    const five = lastEntry(db);
    db.close();
    expect(readAuditHead(head)).toEqual({ ...five, seq: 5 });
  });

  it("does not move for an entry whose transaction rolled back", () => {
    const { db, head } = freshArchive();
    append(db, 2);
    expect(() =>
      db.transaction(() => {
        appendAudit(db, owner, { action: "member.add" });
        throw new Error("the change failed");
      })(),
    ).toThrow("the change failed");
    anchorAuditHead(db);
    expect(readAuditHead(head)?.seq).toBe(2);
    expect(verifyAudit(db).ok).toBe(true);
    db.close();
  });

  it("accepts a database ahead of its head (a crash before the head moved)", () => {
    const { file, db, head } = freshArchive();
    append(db, 2);
    db.close();
    const behind = fs.readFileSync(head);
    const again = openDatabase(file);
    append(again, 3);
    again.close();
    fs.writeFileSync(head, behind);
    const db3 = openDatabase(file);
    expect(verifyAudit(db3)).toEqual({ ok: true, entries: 5, problems: [] });
    db3.close();
  });

  it("never moves over a chain that no longer continues it, and verify names it", () => {
    const { file, db, head } = freshArchive();
    append(db, 2);
    db.close();
    const raw = new Database(file);
    raw.exec("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2;");
    raw.close();
    const again = openDatabase(file);
    append(again, 2);
    anchorAuditHead(again);
    expect(readAuditHead(head)?.seq).toBe(2);
    expect(verifyAudit(again).problems).toEqual([
      "entry 2 differs from the head file: the chain was rewritten and re-hashed",
      "the append-only triggers audit_log_no_delete are missing or disabled",
    ]);
    again.close();
  });

  it("is written for an archive from before it existed, over the chain as it stands", () => {
    // An archive made by the medbot before the head file: only the steps before the marker have run.
    const file = path.join(scratch, `a${++count}`, "medbot.db");
    const head = `${file}-audit-head.json`;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    for (const step of MIGRATIONS.slice(0, AUDIT_HEAD_STEP - 1)) db.exec(step);
    db.pragma(`user_version = ${AUDIT_HEAD_STEP - 1}`);
    append(db, 4);
    const four = lastEntry(db);
    db.close();
    fs.rmSync(head, { force: true });
    const upgraded = openDatabase(file);
    expect(readAuditHead(head)).toEqual(four);
    expect(verifyAudit(upgraded).ok).toBe(true);
    upgraded.close();
  });

  it("once an archive has one, a removed or garbled head file is reported", () => {
    const { file, db, head } = freshArchive();
    append(db, 1);
    db.close();
    fs.rmSync(head);
    const again = openDatabase(file);
    expect(verifyAudit(again).problems).toEqual([
      "the head file medbot.db-audit-head.json is missing: a cut or rewritten history cannot be ruled out",
    ]);
    fs.writeFileSync(head, "{}");
    expect(verifyAudit(again).problems).toEqual([
      `${head} is not an audit head file (expected {"seq", "hash", "at"})`,
    ]);
    again.close();
  });
});
