// The signed audit head (audit.signHead): the key is made once, privately, in the data folder; medbot signs
// only heads it can vouch for, so a head forged without the key is never signed over by a later append.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { readAuditHead } from "../../src/audit/audit-head.js";
import { appendAudit, listAudit, verifyAudit } from "../../src/audit/audit-log.js";
import { keyFingerprint, loadSigningKey } from "../../src/audit/audit-signature.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { writePrivateFileOnce } from "../../src/storage/private-fs.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-audit-signature-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

let count = 0;
/** A data folder with its key file and a workspace holding the database, as resolvePaths lays them out. */
function folder() {
  const home = path.join(scratch, `h${++count}`);
  const database = path.join(home, "workspace", "medbot.db");
  return { keyFile: path.join(home, "audit-signing.key"), database, head: `${database}-audit-head.json` };
}

const owner = hostOwner("cli");
const append = (db: Db, n: number) => {
  for (let i = 0; i < n; i++) db.transaction(() => appendAudit(db, owner, { action: "member.add" }))();
};

describe("the signed audit head", () => {
  it("creates the key once (0600) and signs every head with it", () => {
    const { keyFile, database, head } = folder();
    const db = openDatabase(database, { auditSigningKey: keyFile });
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = loadSigningKey(keyFile)!;
    expect(readAuditHead(head)).toMatchObject({ seq: 0, key: keyFingerprint(key) });
    append(db, 3);
    db.close();
    expect(readAuditHead(head)).toMatchObject({ seq: 3, key: keyFingerprint(key) });
    const again = openDatabase(database, { auditSigningKey: keyFile });
    expect(keyFingerprint(loadSigningKey(keyFile)!)).toBe(keyFingerprint(key));
    expect(verifyAudit(again, { signingKey: keyFile })).toEqual({ ok: true, entries: 3, problems: [] });
    again.close();
  });

  it("adopts the unsigned head of an archive when signHead is turned on", () => {
    const { keyFile, database, head } = folder();
    const before = openDatabase(database);
    append(before, 2);
    before.close();
    expect(readAuditHead(head)?.signature).toBeUndefined();
    const db = openDatabase(database, { auditSigningKey: keyFile });
    expect(readAuditHead(head)).toMatchObject({ seq: 2, key: expect.any(String) });
    expect(verifyAudit(db, { signingKey: keyFile }).ok).toBe(true);
    db.close();
  });

  it("never signs over a head written without the key, even as new entries are appended", () => {
    const { keyFile, database, head } = folder();
    const db = openDatabase(database, { auditSigningKey: keyFile });
    append(db, 2);
    db.close();
    const reader = openDatabase(database);
    const last = listAudit(reader).at(-1)!;
    reader.close();
    // A head someone wrote without the key (here at the true end, as a rewrite would leave it).
    fs.writeFileSync(head, JSON.stringify({ seq: last.seq, hash: last.hash, at: last.at }));
    const gateway = openDatabase(database, { auditSigningKey: keyFile });
    append(gateway, 2);
    gateway.close();
    expect(readAuditHead(head)).toEqual({ seq: 2, hash: last.hash, at: last.at });
    const reopened = openDatabase(database, { auditSigningKey: keyFile });
    expect(verifyAudit(reopened, { signingKey: keyFile }).problems).toEqual([
      "the head file medbot.db-audit-head.json is not signed although audit.signHead is on: it may have been rewritten",
    ]);
    reopened.close();
  });

  it("does not start a new signed head over existing entries once the head file was removed", () => {
    const { keyFile, database, head } = folder();
    const db = openDatabase(database, { auditSigningKey: keyFile });
    append(db, 2);
    fs.rmSync(head);
    append(db, 1);
    db.close();
    expect(fs.existsSync(head)).toBe(false);
  });

  it("does not make a new key when a signed head's key is gone", () => {
    const { keyFile, database } = folder();
    openDatabase(database, { auditSigningKey: keyFile }).close();
    fs.rmSync(keyFile);
    const db = openDatabase(database, { auditSigningKey: keyFile });
    append(db, 1);
    db.close();
    expect(fs.existsSync(keyFile)).toBe(false);
  });

  it("writes a key file only once, whoever comes second", () => {
    const file = path.join(scratch, "once", "secret");
    expect(writePrivateFileOnce(file, "first")).toBe(true);
    expect(writePrivateFileOnce(file, "second")).toBe(false);
    expect(fs.readFileSync(file, "utf8")).toBe("first");
    expect(fs.readdirSync(path.dirname(file))).toEqual(["secret"]);
  });
});
