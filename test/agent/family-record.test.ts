// family_record as the model calls it: every change names the member, keeps history, respects grants.
import { beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { BUILTIN_SKILLS_DIR } from "../../src/agent/skills.js";
import { familyRecord } from "../../src/agent/tools/family-record.js";
import { runToolCall, type ToolContext } from "../../src/agent/tools/tool.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { recordMetric } from "../../src/archive/metrics.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { openDatabase } from "../../src/storage/db.js";

let archive: FamilyArchive;
let context: ToolContext;

function call(args: Record<string, unknown>, actor: Actor = hostOwner("test")): Promise<string> {
  return runToolCall(
    [familyRecord],
    { id: "c", name: "family_record", arguments: JSON.stringify(args) },
    { ...context, actor },
  );
}

beforeEach(async () => {
  archive = new FamilyArchive(openDatabase(":memory:"), { clock: () => new Date("2026-11-22T10:00:00Z") });
  context = {
    workspace: "/nonexistent",
    restrictToWorkspace: true,
    builtinSkills: BUILTIN_SKILLS_DIR,
    sessionKey: "test:c:u",
    actor: hostOwner("test"),
    archive,
  };
  await call({
    action: "add_member",
    text: "爸爸",
    profile: { relationship: "father", aliases: ["Dad"], sex: "male" },
  });
  await call({ action: "add_member", text: "妈妈", profile: { aliases: ["Mum"] } });
});

describe("family_record", () => {
  it("adds a fact and names the member in the reply", async () => {
    const reply = await call({
      action: "add",
      member: "dad",
      kind: "fact",
      category: "drug_allergy",
      text: "penicillin",
      details: "hives",
    });
    expect(reply).toMatch(/^Saved for 爸爸: fact #\d+ drug_allergy: penicillin, hives \[reported\]\.$/);
  });

  it("records a symptom on two days as two events, defaulting onset to today", async () => {
    await call({ action: "add", member: "dad", kind: "symptom", text: "headache", date: "2026-11-20" });
    const second = await call({
      action: "add",
      member: "dad",
      kind: "symptom",
      text: "headache",
      status: "unreviewed",
    });
    expect(second).toContain("from 2026-11-22");
    expect(archive.current(hostOwner(), "dad", "symptoms")).toHaveLength(2);
  });

  it("changes a medication's dose as a new version and stops it, keeping both in history", async () => {
    const added = await call({
      action: "add",
      member: "妈妈",
      kind: "medication",
      text: "amlodipine",
      dose: "5 mg",
      frequency: "daily",
      times: ["08:00"],
      indication: "blood pressure",
    });
    const id = Number(/#(\d+)/.exec(added)![1]);
    const updated = await call({ action: "update", member: "mum", kind: "medication", id, dose: "10 mg" });
    const newId = Number(/#(\d+) \(was/.exec(updated)![1]);
    expect(updated).toContain("10 mg");
    const stopped = await call({
      action: "stop",
      member: "mum",
      kind: "medication",
      id: newId,
      date: "2026-11-21",
      reason: "ankle swelling",
    });
    expect(stopped).toMatch(/Stopped for 妈妈: .*stopped 2026-11-21/);
    const [now] = archive.history(hostOwner(), "mum", "medications", newId).slice(-1);
    expect(now?.reason).toBe("blood pressure; stopped: ankle swelling");
    const history = await call({ action: "history", member: "mum", kind: "medication", id });
    expect(history.split("\n")).toHaveLength(3);
    expect(history).toContain("5 mg");
  });

  it("requires a reason to correct or remove, and changes nothing without one", async () => {
    const added = await call({
      action: "add",
      member: "dad",
      kind: "fact",
      category: "condition",
      text: "asthma",
    });
    const id = Number(/#(\d+)/.exec(added)![1]);
    const audits = listAudit(archive.db).length;
    expect(await call({ action: "correct", member: "dad", kind: "fact", id, text: "COPD" })).toMatch(
      /^Error: .*reason/,
    );
    expect(await call({ action: "remove", member: "dad", kind: "fact", id })).toMatch(
      /^Error: .*"reason" is required/,
    );
    expect(listAudit(archive.db)).toHaveLength(audits);
    expect(
      await call({ action: "correct", member: "dad", kind: "fact", id, text: "COPD", reason: "spirometry" }),
    ).toMatch(/^Corrected for 爸爸/);
    // The reason is kept with the version that it explains, and its history shows it.
    const history = await call({ action: "history", member: "dad", kind: "fact", id });
    expect(history.split("\n")).toEqual([
      expect.stringMatching(/^#\d+ \S+ condition: asthma \[reported\] replaced$/),
      expect.stringMatching(/^#\d+ \S+ condition: COPD \[reported\] \(changed: spirometry\) current$/),
    ]);
  });

  it("answers an unknown member with the candidates and a bad date with what is wrong", async () => {
    expect(await call({ action: "show", member: "grandma" })).toMatch(
      /No family member called "grandma".*爸爸.*妈妈/,
    );
    const bad = await call({
      action: "add",
      member: "dad",
      kind: "symptom",
      text: "cough",
      date: "2026-02-30",
    });
    expect(bad).toMatch(/not a real date/);
    expect(archive.current(hostOwner(), "dad", "symptoms")).toHaveLength(0);
  });

  it("refuses schema violations with the field named", async () => {
    const reply = await call({ action: "add", member: "dad", kind: "medication", text: "x", times: ["8am"] });
    expect(reply).toMatch(/^Error: invalid arguments for family_record:[\s\S]*times/);
  });

  it("keeps a caregiver to the members they are granted", async () => {
    const caregiver: Actor = { person: "ann", channel: "telegram", grants: ["妈妈"] };
    expect(await call({ action: "members" }, caregiver)).toBe("妈妈 (id 妈妈; aka Mum)");
    expect(
      await call({ action: "add", member: "dad", kind: "fact", category: "condition", text: "x" }, caregiver),
    ).toMatch(/No family member called "dad"/);
    expect(await call({ action: "add_member", text: "Tom" }, caregiver)).toMatch(/Only an owner/);
  });

  it("shows the current record with ids", async () => {
    await call({
      action: "add",
      member: "dad",
      kind: "fact",
      category: "condition",
      text: "gout",
      date: "2020-05-01",
    });
    const shown = await call({ action: "show", member: "Dad" });
    expect(shown).toMatch(
      /^爸爸 \(id 爸爸; father; aka Dad\)\nmale\nfacts:\n {2}#\d+ condition: gout, since 2020-05-01 \[reported\]$/,
    );
  });

  it("show summarises the readings of a member who has readings but no facts", async () => {
    for (let day = 1; day <= 18; day++) {
      const at = `2026-11-${String(day).padStart(2, "0")}T07:00Z`;
      recordMetric(archive, hostOwner("test"), "Mum", { kind: "glucose", value: 5 + day / 10, at });
    }
    const shown = await call({ action: "show", member: "Mum" });
    expect(shown).not.toMatch(/Nothing recorded yet/);
    expect(shown).toMatch(
      /^readings:\n {2}glucose mmol\/L: 18 readings 2026-11-01\.\.2026-11-18; latest 6\.8 \(2026-11-18 \d\d:\d\d\); min 5\.1, max 6\.8, /m,
    );
    expect(
      await call({ action: "show", member: "Mum" }, { person: "ann", channel: "telegram", grants: ["爸爸"] }),
    ).toMatch(/No family member called "Mum"/);
  });
});

describe("family_record history", () => {
  it("dates each version on the member's own day (UTC+8, an early morning)", async () => {
    // 2026-11-21 20:00 UTC is 04:00 on the 22nd in Shanghai.
    archive = new FamilyArchive(openDatabase(":memory:"), { clock: () => new Date("2026-11-21T20:00:00Z") });
    context = { ...context, archive };
    await call({ action: "add_member", text: "奶奶", profile: { timezone: "Asia/Shanghai" } });
    const added = await call({
      action: "add",
      member: "奶奶",
      kind: "fact",
      category: "condition",
      text: "osteoporosis",
    });
    expect(added).toMatch(/#\d+/);
    const id = Number(/#(\d+)/.exec(added)![1]);
    await call({ action: "remove", member: "奶奶", kind: "fact", id, reason: "entered twice" });
    const history = await call({ action: "history", member: "奶奶", kind: "fact", id });
    expect(history).toMatch(/^#\d+ 2026-11-22 .*removed 2026-11-22: entered twice$/);
  });
});
