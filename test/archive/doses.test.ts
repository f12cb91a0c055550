// Doses and adherence: a dose outcome is recorded only for members the person may see, audited with who
// reported it and where; adherence counts what the schedule had against what was recorded, and shows in
// the record's views and the doctor export.
import { beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { recordDoseTool } from "../../src/agent/tools/doses.js";
import { runToolCall, type ToolContext } from "../../src/agent/tools/tool.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { adherenceOf, adherenceText, recordDose } from "../../src/archive/doses.js";
import { collectDoctorExport } from "../../src/archive/export/index.js";
import { blocksToMarkdown, doctorExportBlocks } from "../../src/archive/export/markdown.js";
import { MemberLookupError } from "../../src/archive/members.js";
import { medicationsView, readMemberRecord, recordView } from "../../src/archive/render.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { medicationFields } from "../support/records.js";

const owner = hostOwner();
const ann: Actor = { person: "ann", channel: "telegram", messageId: "77", grants: ["mum"] };
const bob: Actor = { person: "bob", channel: "telegram", grants: ["dad"] };
let db: Db;
let archive: FamilyArchive;
let now: Date;
let metforminId: number;

const metformin = medicationFields({
  name: "metformin",
  dose: "500 mg",
  frequency: "daily",
  timesOfDay: ["08:00"],
  startDate: "2026-11-01",
});

const doseCount = () => (db.prepare("SELECT COUNT(*) AS n FROM medication_doses").get() as { n: number }).n;

beforeEach(() => {
  db = openDatabase(":memory:");
  now = new Date("2026-10-01T10:00:00Z");
  archive = new FamilyArchive(db, { clock: () => now });
  archive.addMember(owner, { id: "mum", displayName: "Mum", timezone: "Europe/Berlin" });
  archive.addMember(owner, { id: "dad", displayName: "Dad" });
  metforminId = archive.add(owner, "mum", "medications", metformin, "confirmed").entry.id;
  // 2026-11-28 12:00 in Berlin (CET, +1).
  now = new Date("2026-11-28T11:00:00Z");
});

describe("recording a dose", () => {
  it("stores the outcome, scheduled and actual time, and audits who reported it from which channel", () => {
    const { dose, medication } = recordDose(archive, ann, "Mum", {
      medication: "Metformin",
      outcome: "taken",
      scheduled: "08:00",
      at: "2026-11-28T08:20",
      note: "with breakfast",
    });
    expect(medication.id).toBe(metforminId);
    expect(dose).toMatchObject({
      memberId: "mum",
      scheduledAt: "2026-11-28T07:00:00.000Z",
      takenAt: "2026-11-28T07:20:00.000Z",
      outcome: "taken",
      note: "with breakfast",
      reportedBy: "ann",
      channel: "telegram",
    });
    const audit = listAudit(db, { memberId: "mum" }).at(-1)!;
    expect(audit).toMatchObject({
      action: "dose.record",
      actor: "ann",
      channel: "telegram",
      messageId: "77",
    });
    expect(JSON.stringify(audit)).not.toMatch(/metformin|breakfast/i);
  });

  it("refuses a member the person is not granted, an unknown medication and a future time, storing nothing", () => {
    expect(() => recordDose(archive, bob, "mum", { medication: "metformin", outcome: "taken" })).toThrow(
      MemberLookupError,
    );
    expect(() => recordDose(archive, ann, "mum", { medication: "insulin", outcome: "taken" })).toThrow(
      /no medication called "insulin".*metformin \(#\d+\)/,
    );
    expect(() =>
      recordDose(archive, ann, "mum", { medication: "metformin", outcome: "taken", at: "2026-11-28T18:00" }),
    ).toThrow(/in the future/);
    expect(() =>
      recordDose(archive, ann, "mum", { medication: "metformin", outcome: "taken", at: "yesterday" }),
    ).toThrow(/time taken "yesterday"/);
    expect(doseCount()).toBe(0);
  });

  it("finds a medication by an old version's id after it was updated", () => {
    const updated = archive.revise(
      owner,
      "mum",
      "medications",
      metforminId,
      { dose: "1000 mg" },
      { kind: "update" },
    );
    const { medication } = recordDose(archive, ann, "mum", {
      medication: `#${metforminId}`,
      outcome: "skipped",
    });
    expect(medication.id).toBe(updated.entry.id);
  });

  it("is offered to the model as record_dose, errors coming back as text", async () => {
    const context = { actor: ann, archive } as unknown as ToolContext;
    const call = (args: object) =>
      runToolCall(
        [recordDoseTool],
        { id: "1", name: "record_dose", arguments: JSON.stringify(args) },
        context,
      );
    expect(
      await call({ member: "mum", medication: "metformin", outcome: "taken", scheduled: "08:00" }),
    ).toMatch(
      /^Recorded for Mum: metformin taken \(2026-11-28 08:00 dose, taken 2026-11-28 12:00, Europe\/Berlin\); dose #1\. Adherence: taken 1 of 28 scheduled; 27 not recorded/,
    );
    expect(await call({ member: "dad", medication: "metformin", outcome: "taken" })).toMatch(
      /^Error: .*No family member/,
    );
    expect(await call({ member: "mum", medication: "metformin", outcome: "forgot" })).toMatch(
      /^Error: invalid arguments/,
    );
    expect(doseCount()).toBe(1);
  });
});

describe("adherence", () => {
  /** Records every 08:00 dose of November up to the 28th, with the outcomes given for some days. */
  function november(outcomes: Record<number, "missed" | "skipped" | "none">): void {
    for (let day = 1; day <= 28; day++) {
      const outcome = outcomes[day] ?? "taken";
      if (outcome === "none") continue;
      recordDose(archive, ann, "mum", {
        medication: "metformin",
        outcome,
        scheduled: `2026-11-${String(day).padStart(2, "0")}T08:00`,
      });
    }
  }

  it("counts the doses scheduled in the last 30 days against what was recorded", () => {
    november({ 20: "missed", 5: "none" });
    const adherence = adherenceOf(db, { timezone: "Europe/Berlin" }, metforminId, now);
    expect(adherence).toMatchObject({ scheduled: 28, taken: 26, missed: 1, unrecorded: 1, missedStreak: 0 });
    expect(adherenceText(adherence)).toBe(
      "taken 26 of 28 scheduled; 1 missed; 1 not recorded; last missed 2026-11-20 (last 30 days)",
    );
  });

  it("lets a later record of the same dose replace an earlier one, and counts a streak of misses", () => {
    november({ 26: "missed", 27: "skipped", 28: "missed", 25: "missed" });
    recordDose(archive, ann, "mum", {
      medication: "metformin",
      outcome: "taken",
      scheduled: "2026-11-25T08:00",
    });
    const adherence = adherenceOf(db, { timezone: "Europe/Berlin" }, metforminId, now);
    expect(adherence).toMatchObject({
      taken: 25,
      missed: 2,
      skipped: 1,
      missedStreak: 2,
      lastMissed: "2026-11-28",
    });
  });

  it("counts each version's schedule while it was in force", () => {
    now = new Date("2026-11-10T11:00:00Z");
    archive.revise(
      owner,
      "mum",
      "medications",
      metforminId,
      { timesOfDay: ["08:00", "20:00"] },
      { kind: "update" },
    );
    now = new Date("2026-11-28T11:00:00Z");
    // Nov 1–10 at 08:00 (10), then 20:00 from the 10th and 08:00 from the 11th: 18 + 18.
    expect(adherenceOf(db, { timezone: "Europe/Berlin" }, metforminId, now).scheduled).toBe(10 + 18 + 18);
  });

  it("counts no scheduled doses from before the medication was recorded", () => {
    const { entry } = archive.add(
      owner,
      "mum",
      "medications",
      { ...metformin, name: "amlodipine" },
      "confirmed",
    );
    expect(adherenceOf(db, { timezone: "Europe/Berlin" }, entry.id, now).scheduled).toBe(0);
    now = new Date("2026-11-30T11:00:00Z");
    expect(adherenceOf(db, { timezone: "Europe/Berlin" }, entry.id, now)).toMatchObject({
      scheduled: 2,
      unrecorded: 2,
    });
  });

  it("shows in medications.md, record.md and the doctor export", () => {
    november({ 20: "missed", 5: "none" });
    const member = archive.member(owner, "mum");
    const record = readMemberRecord(db, member, now);
    const line = "taken 26 of 28 scheduled; 1 missed; 1 not recorded; last missed 2026-11-20 (last 30 days)";
    expect(medicationsView(record)).toContain(`- Adherence: ${line}`);
    expect(recordView(record)).toContain(`  - Adherence: ${line}`);
    const markdown = blocksToMarkdown(
      doctorExportBlocks(collectDoctorExport(db, member, now, 90)),
      () => undefined,
    );
    expect(markdown).toContain(`## Medication adherence (as recorded)\n\n- **metformin**: ${line}`);
  });

  it("leaves the views without an adherence line when nothing was scheduled or recorded", () => {
    archive.add(owner, "dad", "medications", { ...metformin, timesOfDay: [] }, "confirmed");
    const record = readMemberRecord(db, archive.member(owner, "dad"), now);
    expect(medicationsView(record)).not.toContain("Adherence");
  });
});
