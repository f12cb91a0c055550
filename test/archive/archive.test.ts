// The archive core: members resolve without guessing, changes keep their history, every change is audited.
import { beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { MemberLookupError } from "../../src/archive/members.js";
import { listAudit, verifyAudit } from "../../src/audit/audit-log.js";
import { type Db, openDatabase } from "../../src/storage/db.js";

let db: Db;
let archive: FamilyArchive;
const owner = hostOwner();
const fever = (onset: string) => ({ name: "fever", onset, ended: null, severity: "mild", notes: null });

beforeEach(() => {
  db = openDatabase(":memory:");
  archive = new FamilyArchive(db);
  archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad", "father"], relationship: "father" });
  archive.addMember(owner, { displayName: "妈妈", aliases: ["Mum"], relationship: "mother" });
});

describe("members", () => {
  it("gives 爸爸 and 妈妈 their own ids, and resolves Dad and dad to the same person", () => {
    expect(archive.member(owner, "爸爸").id).toBe("爸爸");
    expect(archive.member(owner, "妈妈").id).toBe("妈妈");
    expect(archive.member(owner, "Dad").id).toBe("爸爸");
    expect(archive.member(owner, "dad").id).toBe("爸爸");
    expect(archive.member(owner, "  MUM ").id).toBe("妈妈");
  });

  it("answers an unknown name with the candidates instead of guessing", () => {
    expect(() => archive.member(owner, "grandma")).toThrow(MemberLookupError);
    expect(() => archive.member(owner, "grandma")).toThrow(/爸爸.*|妈妈.*/);
  });

  it("answers an ambiguous alias with both candidates", () => {
    archive.addMember(owner, { displayName: "Grandma", aliases: ["mum"] });
    const error = (() => {
      try {
        archive.member(owner, "mum");
      } catch (e) {
        return e as MemberLookupError;
      }
    })();
    expect(error?.kind).toBe("ambiguous");
    expect(error?.candidates.map((c) => c.id).sort()).toEqual(["grandma", "妈妈"]);
  });

  it("never shows a caregiver the members they are not granted", () => {
    const caregiver: Actor = { person: "ann", channel: "telegram", grants: ["妈妈"] };
    expect(archive.members(caregiver).map((m) => m.id)).toEqual(["妈妈"]);
    expect(() => archive.member(caregiver, "dad")).toThrow(/No family member called "dad"\. Members: 妈妈/);
    expect(() => archive.addMember(caregiver, { displayName: "Tom" })).toThrow(/Only an owner/);
  });

  it("keeps ids unique and refuses an id that is already used or unsafe", () => {
    expect(archive.addMember(owner, { displayName: "爸爸" }).id).toBe("爸爸-2");
    expect(() => archive.addMember(owner, { displayName: "X", id: "妈妈" })).toThrow(/already used/);
    expect(() => archive.addMember(owner, { displayName: "X", id: "../etc" })).toThrow(
      /not a valid member id/,
    );
  });
});

describe("entries", () => {
  it("keeps every fact of the first update after a second one", () => {
    archive.add(
      owner,
      "dad",
      "facts",
      { category: "condition", text: "hypertension", details: null, since: null },
      "reported",
    );
    archive.add(
      owner,
      "dad",
      "facts",
      { category: "drug_allergy", text: "penicillin", details: null, since: null },
      "reported",
    );
    expect(
      archive
        .current(owner, "dad", "facts")
        .map((f) => f.text)
        .sort(),
    ).toEqual(["hypertension", "penicillin"]);
  });

  it("records the same symptom on two days as two events, and fever beside 'fever and cough'", () => {
    archive.add(owner, "dad", "symptoms", fever("2026-11-20"), "reported");
    archive.add(owner, "dad", "symptoms", fever("2026-11-21"), "reported");
    archive.add(owner, "dad", "symptoms", { ...fever("2026-11-21"), name: "fever and cough" }, "reported");
    expect(archive.current(owner, "dad", "symptoms")).toHaveLength(3);
  });

  it("keeps the history of a correction and of a removal", () => {
    const { entry } = archive.add(
      owner,
      "dad",
      "facts",
      { category: "condition", text: "hypertension", details: null, since: null },
      "reported",
    );
    const corrected = archive.revise(
      owner,
      "dad",
      "facts",
      entry.id,
      { text: "essential hypertension" },
      { kind: "correct", reason: "clinic letter" },
    );
    expect(corrected.member.displayName).toBe("爸爸");
    archive.remove(owner, "dad", "facts", corrected.entry.id, "entered for the wrong person");
    expect(archive.current(owner, "dad", "facts")).toHaveLength(0);
    const history = archive.history(owner, "dad", "facts", entry.id);
    expect(history.map((v) => v.text)).toEqual(["hypertension", "essential hypertension"]);
    expect(history[1]?.removedReason).toBe("entered for the wrong person");
  });

  it("refuses a correction without a reason and changes nothing", () => {
    const { entry } = archive.add(
      owner,
      "dad",
      "facts",
      { category: "condition", text: "asthma", details: null, since: null },
      "reported",
    );
    const before = listAudit(db).length;
    expect(() => archive.revise(owner, "dad", "facts", entry.id, { text: "x" }, { kind: "correct" })).toThrow(
      /reason/,
    );
    expect(listAudit(db)).toHaveLength(before);
    expect(archive.current(owner, "dad", "facts")[0]?.text).toBe("asthma");
  });

  it("never changes one member's entry through another member", () => {
    const { entry } = archive.add(
      owner,
      "dad",
      "facts",
      { category: "condition", text: "gout", details: null, since: null },
      "reported",
    );
    expect(() => archive.remove(owner, "mum", "facts", entry.id, "wrong")).toThrow(
      /no fact #\d+ in 妈妈's record/,
    );
    expect(archive.current(owner, "dad", "facts")).toHaveLength(1);
  });

  it("confirms an unreviewed entry in review", () => {
    const { entry } = archive.add(owner, "mum", "symptoms", fever("2026-11-01"), "unreviewed");
    expect(archive.review(owner, "mum", "symptoms", entry.id, "confirm").entry.status).toBe("confirmed");
  });

  it("refuses to confirm an entry twice, writing no second audit entry", () => {
    const { entry } = archive.add(owner, "mum", "symptoms", fever("2026-11-02"), "unreviewed");
    archive.review(owner, "mum", "symptoms", entry.id, "confirm");
    const audits = listAudit(db).length;
    expect(() => archive.review(owner, "mum", "symptoms", entry.id, "confirm")).toThrow(/already confirmed/);
    expect(listAudit(db)).toHaveLength(audits);
  });
});

describe("audit log", () => {
  it("records who changed what, without health content, and verifies", () => {
    archive.add(
      owner,
      "dad",
      "facts",
      { category: "condition", text: "diabetes", details: null, since: null },
      "reported",
    );
    const last = listAudit(db).at(-1)!;
    expect(last).toMatchObject({ actor: "owner", channel: "cli", action: "fact.add", memberId: "爸爸" });
    expect(JSON.stringify(listAudit(db))).not.toContain("diabetes");
    expect(verifyAudit(db).ok).toBe(true);
  });

  it("refuses updates and deletes, and --verify catches an edited or deleted entry", () => {
    expect(() => db.exec("UPDATE audit_log SET actor = 'x'")).toThrow(/append-only/);
    expect(() => db.exec("DELETE FROM audit_log")).toThrow(/append-only/);
    db.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; PRAGMA foreign_keys = OFF;");
    db.exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1");
    expect(verifyAudit(db).problems).toContain("entry 1 was changed after it was written");
    db.exec("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)");
    expect(verifyAudit(db).problems.some((p) => p.includes("were deleted"))).toBe(true);
  });
});
