// Doctor's audit check: an intact log is silent; history cut, re-hashed or left without its append-only
// triggers is a high finding naming what, and checking it changes nothing on disk.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { appendAudit } from "../../src/audit/audit-log.js";
import { resolvePaths } from "../../src/config/paths.js";
import { checkAuditLog } from "../../src/doctor/doctor-audit.js";
import { openDatabase } from "../../src/storage/db.js";
import { AUDIT_HEAD_STEP } from "../../src/storage/migrations.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-audit-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** An instance whose audit log holds `entries` entries, closed (so its head file is up to date). */
function instance(name: string, entries: number, signAuditHead = false) {
  const paths = resolvePaths({ configPath: path.join(scratch, name, "config.json"), signAuditHead }, {});
  const db = openDatabase(paths.database, { auditSigningKey: paths.auditSigningKey });
  for (let i = 0; i < entries; i++)
    db.transaction(() => appendAudit(db, hostOwner("cli"), { action: "member.add" }))();
  db.close();
  return paths;
}

/** The database and its head file, byte for byte (SQLite's own -wal and -shm aside). */
const snapshot = (folder: string) =>
  fs
    .readdirSync(folder)
    .filter((name) => !/-(wal|shm)$/.test(name))
    .map((name) => [name, fs.readFileSync(path.join(folder, name)).toString("hex")]);

describe("doctor: the audit log", () => {
  it("finds nothing without a database, or in an intact log", () => {
    expect(
      checkAuditLog(resolvePaths({ configPath: path.join(scratch, "none", "config.json") }, {})),
    ).toEqual([]);
    expect(checkAuditLog(instance("intact", 3))).toEqual([]);
  });

  it("reports a cut tail as high, naming it, and changes nothing", () => {
    const paths = instance("cut", 4);
    const raw = new Database(paths.database);
    raw.exec(`DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq > 2;
      UPDATE sqlite_sequence SET seq = 2 WHERE name = 'audit_log';`);
    raw.close();
    const before = snapshot(paths.workspace);
    const findings = checkAuditLog(paths);
    expect(findings.map((f) => [f.id, f.severity])).toEqual([["audit.broken", "high"]]);
    expect(findings[0]?.what).toContain("the log ends at entry 2 but the head file recorded 4 entries");
    expect(findings[0]?.what).toContain(
      "the append-only triggers audit_log_no_delete are missing or disabled",
    );
    expect(snapshot(paths.workspace)).toEqual(before);
  });

  it("reports a removed head file", () => {
    const paths = instance("headless", 1);
    fs.rmSync(`${paths.database}-audit-head.json`);
    expect(checkAuditLog(paths)[0]?.what).toContain("the head file medbot.db-audit-head.json is missing");
  });

  it("does not report the head missing for an archive no medbot with head files has opened yet", () => {
    const paths = instance("older", 2);
    fs.rmSync(`${paths.database}-audit-head.json`);
    const raw = new Database(paths.database);
    raw.pragma(`user_version = ${AUDIT_HEAD_STEP - 1}`);
    raw.close();
    expect(checkAuditLog(paths)).toEqual([]);
  });

  it("with audit.signHead on, finds a signed head intact and reports a missing key or an unsigned head", () => {
    const paths = instance("signed", 2, true);
    expect(checkAuditLog(paths)).toEqual([]);
    const head = `${paths.database}-audit-head.json`;
    const { key: _key, signature: _signature, ...unsigned } = JSON.parse(fs.readFileSync(head, "utf8"));
    const signed = fs.readFileSync(head);
    fs.writeFileSync(head, JSON.stringify(unsigned));
    const findings = checkAuditLog(paths);
    expect(findings.map((f) => [f.id, f.severity])).toEqual([["audit.broken", "high"]]);
    expect(findings[0]?.what).toContain("is not signed although audit.signHead is on");
    fs.writeFileSync(head, signed);
    const key = fs.readFileSync(paths.auditSigningKey!, "utf8");
    fs.rmSync(paths.auditSigningKey!);
    const missing = checkAuditLog(paths);
    expect(missing[0]?.what).toContain(`the audit signing key ${paths.auditSigningKey} is missing`);
    expect(JSON.stringify(missing)).not.toContain(key.split("\n")[1]);
    // signHead just turned on, before any medbot command made the key: named as such.
    const fresh = instance("turned-on", 1);
    const turnedOn = resolvePaths({ configPath: fresh.configFile, signAuditHead: true }, {});
    expect(checkAuditLog(turnedOn)[0]?.what).toContain(
      "is missing although audit.signHead is on, and the head is not signed: the next medbot command",
    );
    // The same archive with signHead off: its signed head is fine.
    expect(checkAuditLog(resolvePaths({ configPath: paths.configFile }, {}))).toEqual([]);
  });
});
