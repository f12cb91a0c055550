// `medbot audit`: who changed what and when, filtered by member and time; --verify finds an edited or a
// deleted entry even when someone removed the append-only triggers to do it.

import { createHash, generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import type { AuditEntry } from "../../src/audit/audit-log.js";
import { loadSigningKey, signHead } from "../../src/audit/audit-signature.js";
import { resolvePaths } from "../../src/config/paths.js";
import { onboard } from "../../src/setup/workspace.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

/**
 * An instance whose audit log holds 5 entries: two members added, a fact, a symptom, a confirmation. `signed`
 * turns audit.signHead on in its config.json, as the household would.
 */
function auditedInstance(signed = false): { home: string; database: string } {
  const home = tempHome();
  const paths = resolvePaths({ configPath: path.join(home, "config.json"), signAuditHead: signed }, {});
  onboard(paths, {}, false, {});
  if (signed) {
    const config = JSON.parse(fs.readFileSync(paths.configFile, "utf8")) as Record<string, unknown>;
    writeConfig(home, { ...config, audit: { signHead: true } });
  }
  const db = openDatabase(paths.database, { auditSigningKey: paths.auditSigningKey });
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

/** The head an attacker writes for the chain as it now stands: consistent with the database, unsigned. */
function forgeHead(database: string, extra: Record<string, string> = {}): void {
  const db = new Database(database, { readonly: true });
  const last = db.prepare("SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1").get();
  db.close();
  fs.writeFileSync(`${database}-audit-head.json`, `${JSON.stringify({ ...(last as object), ...extra })}\n`);
}

const headOf = (database: string) =>
  JSON.parse(fs.readFileSync(`${database}-audit-head.json`, "utf8")) as Record<string, unknown>;

describe("medbot audit with audit.signHead on", () => {
  it("signs the head with a 0600 key in the data folder, and --verify and doctor find it intact", async () => {
    const { home, database } = auditedInstance(true);
    const keyFile = path.join(home, "audit-signing.key");
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(database))).not.toContain("audit-signing.key");
    expect(headOf(database)).toMatchObject({ seq: 5, key: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const result = await runMedbot(["audit", "--verify"], { home });
    expect(result).toMatchObject({ code: 0, stdout: "audit log intact (5 entries)\n" });
    const doctor = await runMedbot(["doctor", "--json"], { home });
    const { findings } = JSON.parse(doctor.stdout) as { findings: { id: string }[] };
    expect(findings.map((f) => f.id)).not.toContain("audit.broken");
    const key = fs.readFileSync(keyFile, "utf8");
    for (const output of [result.stdout, result.stderr, doctor.stdout, doctor.stderr])
      expect(output).not.toContain(key.split("\n")[1]);
  });

  it("--verify and doctor report a chain re-hashed with a matching head written without the key", async () => {
    const { home, database } = auditedInstance(true);
    rewrite(database, "UPDATE audit_log SET actor = 'owner', channel = 'cli' WHERE seq = 3", 3);
    forgeHead(database);
    expect(await verifyJson(home)).toMatchObject({
      code: 1,
      problems: [
        "the head file medbot.db-audit-head.json is not signed although audit.signHead is on: it may have been rewritten",
      ],
    });
    const doctor = await runMedbot(["doctor", "--json"], { home });
    expect(doctor.code).toBe(1);
    const { findings } = JSON.parse(doctor.stdout) as {
      findings: { id: string; severity: string; what: string }[];
    };
    expect(findings.find((f) => f.id === "audit.broken")).toMatchObject({
      severity: "high",
      what: expect.stringContaining("is not signed although audit.signHead is on"),
    });
  });

  it("--verify reports a head signed by another key, an edited signed head, and a missing key", async () => {
    const { home, database } = auditedInstance(true);
    const original = headOf(database);
    rewrite(database, "DELETE FROM audit_log WHERE seq > 3", 4);
    // The attacker's own key: a well-formed signature, over the forged head, by a key that is not ours.
    const { privateKey } = generateKeyPairSync("ed25519");
    const theirs = path.join(tempHome(), "theirs.key");
    fs.writeFileSync(theirs, privateKey.export({ type: "pkcs8", format: "pem" }));
    const db = new Database(database, { readonly: true });
    const last = db.prepare("SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1").get() as {
      seq: number;
      hash: string;
      at: string;
    };
    db.close();
    forgeHead(database, { ...signHead(last, loadSigningKey(theirs)!) });
    const other = await verifyJson(home);
    expect(other.code).toBe(1);
    expect(other.problems).toEqual([
      expect.stringMatching(
        /^the head file medbot\.db-audit-head\.json is signed by another key \(.*\): it was rewritten$/,
      ),
    ]);
    // Our signature kept, the counts edited to match the cut chain.
    forgeHead(database, { key: original.key as string, signature: original.signature as string });
    expect(await verifyJson(home)).toMatchObject({
      code: 1,
      problems: ["the head file medbot.db-audit-head.json does not match its signature: it was edited"],
    });
    fs.writeFileSync(`${database}-audit-head.json`, JSON.stringify(original));
    fs.rmSync(path.join(home, "audit-signing.key"));
    const missing = await verifyJson(home);
    expect(missing.code).toBe(1);
    expect(missing.problems[0]).toBe(
      `the audit signing key ${path.join(home, "audit-signing.key")} is missing although audit.signHead is on: the head file's signature cannot be checked`,
    );
    // The signed head's key is not silently replaced by a new one that would sign whatever head is there.
    expect(fs.existsSync(path.join(home, "audit-signing.key"))).toBe(false);
  });

  it("turned on for an existing archive, signs its head as it stands at the next command", async () => {
    const { home, database } = auditedInstance();
    expect(headOf(database).signature).toBeUndefined();
    writeConfig(home, {
      ...JSON.parse(fs.readFileSync(path.join(home, "config.json"), "utf8")),
      audit: { signHead: true },
    });
    expect(await verifyJson(home)).toMatchObject({ code: 0, problems: [] });
    expect(headOf(database)).toMatchObject({ seq: 5, signature: expect.any(String) });
    expect(fs.statSync(path.join(home, "audit-signing.key")).mode & 0o777).toBe(0o600);
  });

  it("with audit.signHead off, a signed or an unsigned head is fine", async () => {
    const { home, database } = auditedInstance(true);
    writeConfig(home, { ...JSON.parse(fs.readFileSync(path.join(home, "config.json"), "utf8")), audit: {} });
    expect(await verifyJson(home)).toMatchObject({ code: 0, problems: [] });
    const { key: _key, signature: _signature, ...unsigned } = headOf(database);
    fs.writeFileSync(`${database}-audit-head.json`, JSON.stringify(unsigned));
    expect(await verifyJson(home)).toMatchObject({ code: 0, problems: [] });
  });
});
