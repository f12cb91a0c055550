// `medbot audit`: who changed what and when, filtered by member and time; --verify finds an edited or a
// deleted entry even when someone removed the append-only triggers to do it.

import { createHash } from "node:crypto";
import * as path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { resolvePaths } from "../../src/config/paths.js";
import type { AuditEntry } from "../../src/security/audit-log.js";
import { onboard } from "../../src/setup/workspace.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";

/** An instance whose audit log holds 5 entries: two members added, a fact, a symptom, a confirmation. */
function auditedInstance(): { home: string; database: string } {
  const home = tempHome();
  const paths = resolvePaths({ configPath: path.join(home, "config.json") }, {});
  onboard(paths, {}, false, {});
  const db = openDatabase(paths.database);
  const archive = new FamilyArchive(db);
  const owner = hostOwner();
  const caregiver = { person: "ann", channel: "telegram", messageId: "m-7", grants: ["mum"] };
  archive.addMember(owner, { displayName: "Mum", id: "mum" });
  archive.addMember(owner, { displayName: "爸爸" });
  const fact = { category: "condition" as const, text: "asthma", details: null, since: null };
  const { entry } = archive.add(caregiver, "mum", "facts", fact, "reported");
  archive.add(
    owner,
    "爸爸",
    "symptoms",
    { name: "cough", onset: "2026-03-01", ended: null, severity: null, notes: null },
    "reported",
  );
  archive.review(owner, "mum", "facts", entry.id, "confirm");
  db.close();
  return { home, database: paths.database };
}

/** Opens the database as an attacker would: no medbot code, triggers dropped, foreign keys off. */
function tamper(database: string, sql: string): void {
  const db = new Database(database);
  db.pragma("foreign_keys = OFF");
  db.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
  db.exec(sql);
  db.close();
}

/**
 * Re-hashes the chain from `from` on with the same recipe medbot uses (it is in the open source), as an
 * attacker who edited or removed entries would, so every link and hash checks out inside the database.
 */
function rehashFrom(database: string, from: number): void {
  const db = new Database(database);
  const rows = db
    .prepare(
      `SELECT seq, at, actor, channel, message_id, action, member_id, entity, entity_id, note, prev_hash, hash
       FROM audit_log ORDER BY seq`,
    )
    .all() as Record<string, string | number | null>[];
  let previous = "0".repeat(64);
  for (const row of rows) {
    if ((row.seq as number) >= from) {
      const fields = [previous, row.seq, row.at, row.actor, row.channel, row.message_id, row.action];
      fields.push(row.member_id, row.entity, row.entity_id, row.note);
      const hash = createHash("sha256").update(JSON.stringify(fields)).digest("hex");
      db.prepare("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?").run(previous, hash, row.seq);
      row.hash = hash;
    }
    previous = row.hash as string;
  }
  db.prepare(
    "UPDATE sqlite_sequence SET seq = (SELECT max(seq) FROM audit_log) WHERE name = 'audit_log'",
  ).run();
  db.close();
}

/** The append-only triggers, put back as they were, so only the chain itself gives the tampering away. */
const RESTORE_TRIGGERS = `
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`;

/** Runs `sql` with the triggers dropped, re-hashes from `from`, then restores the triggers. */
function rewrite(database: string, sql: string, from: number): void {
  tamper(database, sql);
  rehashFrom(database, from);
  const db = new Database(database);
  db.exec(RESTORE_TRIGGERS);
  db.close();
}

const verifyJson = async (home: string) => {
  const result = await runMedbot(["audit", "--verify", "--json"], { home });
  return { code: result.code, ...(JSON.parse(result.stdout) as { ok: boolean; problems: string[] }) };
};

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe("medbot audit", () => {
  it("lists every entry with seq, time, actor, channel, action, member and entity", async () => {
    const { home } = auditedInstance();
    const result = await runMedbot(["audit"], { home });
    expect(result.code).toBe(0);
    const rows = result.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^SEQ +TIME \(UTC\) +ACTOR +CHANNEL +ACTION +MEMBER +ENTITY$/);
    expect(rows.slice(1).map((r) => r.split(/\s{2,}/).filter((_, i) => i !== 1))).toEqual([
      ["1", "owner", "cli", "member.add", "mum", "member:mum"],
      ["2", "owner", "cli", "member.add", "爸爸", "member:爸爸"],
      ["3", "ann", "telegram", "fact.add", "mum", "facts"],
      ["4", "owner", "cli", "symptom.add", "爸爸", "symptoms"],
      ["5", "owner", "cli", "fact.confirm", "mum", "facts:1"],
    ]);
  });

  it("filters by member (name or id) and by date", async () => {
    const { home } = auditedInstance();
    const mine = await runMedbot(["audit", "--member", "Mum", "--since", inDays(-2), "--json"], { home });
    expect(mine.code).toBe(0);
    const entries = JSON.parse(mine.stdout) as AuditEntry[];
    expect(entries.map((e) => [e.seq, e.actor, e.messageId])).toEqual([
      [1, "owner", null],
      [3, "ann", "m-7"],
      [5, "owner", null],
    ]);
    const future = await runMedbot(["audit", "--since", inDays(2)], { home });
    expect(future.stdout).toBe("No audit entries match.\n");
    const bad = await runMedbot(["audit", "--since", "last week"], { home });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--since "last week" must be a date like 2026-03-14');
  });

  it("--verify says an untouched log is intact", async () => {
    const { home } = auditedInstance();
    const result = await runMedbot(["audit", "--verify"], { home });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("audit log intact (5 entries)\n");
  });

  it("--verify exits 1 naming an entry edited behind medbot's back", async () => {
    const { home, database } = auditedInstance();
    tamper(database, "UPDATE audit_log SET actor = 'owner', channel = 'cli' WHERE seq = 3");
    const result = await runMedbot(["audit", "--verify"], { home });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      "audit log BROKEN (5 entries checked):\n  entry 3 was changed after it was written\n" +
        "  the append-only triggers audit_log_no_update, audit_log_no_delete are missing or disabled\n",
    );
  });

  it("--verify exits 1 naming entries deleted from the middle and from the end", async () => {
    const { home, database } = auditedInstance();
    tamper(database, "DELETE FROM audit_log WHERE seq IN (2, 5)");
    const result = await runMedbot(["audit", "--verify", "--json"], { home });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      ok: false,
      entries: 3,
      problems: [
        "entries 2..2 are missing",
        "entry 3 does not link to the entry before it",
        "entries 5..5 were deleted",
        "the log ends at entry 4 but the head file recorded 5 entries: entries 5..5 were cut off",
        "the append-only triggers audit_log_no_update, audit_log_no_delete are missing or disabled",
      ],
    });
  });

  it("--verify exits 1 when the append-only triggers were dropped, even with every entry intact", async () => {
    const { home, database } = auditedInstance();
    const db = new Database(database);
    db.exec(
      `DROP TRIGGER audit_log_no_delete;
       CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT 1; END;`,
    );
    db.close();
    expect(await verifyJson(home)).toMatchObject({
      code: 1,
      ok: false,
      problems: ["the append-only triggers audit_log_no_delete are missing or disabled"],
    });
  });

  it("--verify exits 1 when the tail was cut off and the sequence reset to hide it", async () => {
    const { home, database } = auditedInstance();
    rewrite(database, "DELETE FROM audit_log WHERE seq > 3", 4);
    expect(await verifyJson(home)).toMatchObject({
      code: 1,
      problems: ["the log ends at entry 3 but the head file recorded 5 entries: entries 4..5 were cut off"],
    });
    const doctor = await runMedbot(["doctor", "--json"], { home });
    expect(doctor.code).toBe(1);
    const { findings } = JSON.parse(doctor.stdout) as { findings: { id: string; what: string }[] };
    expect(findings.find((f) => f.id === "audit.broken")?.what).toContain("entries 4..5 were cut off");
  });

  it("--verify exits 1 when an entry was edited and the whole chain re-hashed", async () => {
    const { home, database } = auditedInstance();
    rewrite(database, "UPDATE audit_log SET actor = 'owner', channel = 'cli' WHERE seq = 3", 3);
    expect(await verifyJson(home)).toMatchObject({
      code: 1,
      problems: ["entry 5 differs from the head file: the chain was rewritten and re-hashed"],
    });
  });

  it("--verify exits 1 when an entry was deleted and the later ones renumbered and re-hashed", async () => {
    const { home, database } = auditedInstance();
    rewrite(
      database,
      `DELETE FROM audit_log WHERE seq = 3;
       UPDATE audit_log SET seq = seq - 1 WHERE seq > 3;`,
      3,
    );
    expect(await verifyJson(home)).toMatchObject({
      code: 1,
      problems: [
        "the log ends at entry 4 but the head file recorded 5 entries: 1 entry was deleted and the later ones renumbered",
      ],
    });
  });
});
