// `medbot family record MEMBER KIND ACTION`: the owner keeps allergies, conditions, medications and symptoms
// from the terminal, with no model. Each change goes through the archive's write path (history kept, audited
// on channel cli, views re-rendered); bad input is refused naming what is wrong and changes nothing.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { getEntry } from "../../src/archive/entries.js";
import { reminderAt } from "../../src/schedules/medication-reminders.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";

/** A data folder with Dad (id dad, times in UTC) and Mum (id mum), both added through the CLI. */
async function household(): Promise<string> {
  const home = tempHome();
  for (const args of [
    ["Dad", "--id", "dad", "--timezone", "UTC"],
    ["Mum", "--id", "mum", "--timezone", "UTC"],
  ]) {
    expect((await runMedbot(["family", "add", ...args], { home })).code).toBe(0);
  }
  return home;
}

/** Runs `medbot family record ...args`, expecting success; returns stdout. */
async function record(home: string, ...args: string[]): Promise<string> {
  const result = await runMedbot(["family", "record", ...args], { home });
  expect(result.stderr).not.toMatch(/error|medbot: /i);
  expect(result.code).toBe(0);
  return result.stdout;
}

/** The number in the first `noun:N` of a command's output. */
function idIn(output: string, noun: string): number {
  const match = new RegExp(`${noun}:(\\d+)`).exec(output);
  expect(match, output).not.toBeNull();
  return Number(match![1]);
}

function withDb<T>(home: string, work: (db: ReturnType<typeof openDatabase>) => T): T {
  const db = openDatabase(path.join(home, "workspace", "medbot.db"));
  try {
    return work(db);
  } finally {
    db.close();
  }
}

const view = (home: string, member: string, file: string) =>
  fs.readFileSync(path.join(home, "workspace", "family", member, file), "utf8");

const lastAudit = (home: string, n: number) =>
  withDb(home, (db) =>
    db
      .prepare(
        `SELECT action, channel, actor, member_id AS memberId, note FROM audit_log ORDER BY seq DESC LIMIT ${n}`,
      )
      .all(),
  );

describe("medbot family record: allergies and conditions", () => {
  it("adds, corrects and removes them, confirmed by the owner, audited on cli, shown in show and record.md", async () => {
    const home = await household();
    const allergy = idIn(
      await record(home, "dad", "allergy", "add", "penicillin", "--details", "rash", "--since", "2019"),
      "fact",
    );
    const food = idIn(await record(home, "dad", "allergy", "add", "peanuts", "--food"), "fact");
    const condition = idIn(
      await record(home, "Dad", "condition", "add", "type 2 diabetes", "--since", "2018-04"),
      "fact",
    );
    withDb(home, (db) => {
      expect(getEntry(db, "facts", allergy)).toMatchObject({
        memberId: "dad",
        category: "drug_allergy",
        text: "penicillin",
        details: "rash",
        since: "2019",
        status: "confirmed",
      });
      expect(getEntry(db, "facts", food)).toMatchObject({ category: "food_allergy", text: "peanuts" });
      expect(getEntry(db, "facts", condition)).toMatchObject({
        category: "condition",
        text: "type 2 diabetes",
        since: "2018-04",
        status: "confirmed",
      });
    });
    expect(lastAudit(home, 3)).toEqual(
      Array(3).fill({ action: "fact.add", channel: "cli", actor: "owner", memberId: "dad", note: null }),
    );
    const recordMd = view(home, "dad", "record.md");
    expect(recordMd).toContain("**penicillin** — rash (since 2019)");
    expect(recordMd).toContain("**peanuts**");
    expect(recordMd).toContain("**type 2 diabetes** (since 2018-04)");

    const corrected = idIn(
      await record(home, "dad", "allergy", "correct", `fact:${allergy}`, "--details", "hives and swelling"),
      "fact",
    );
    expect(corrected).not.toBe(allergy);
    await record(
      home,
      "dad",
      "condition",
      "remove",
      `fact:${condition}`,
      "--reason",
      "entered for the wrong person",
    );
    withDb(home, (db) => {
      expect(getEntry(db, "facts", allergy)).toMatchObject({ replacedBy: corrected, details: "rash" });
      expect(getEntry(db, "facts", corrected)).toMatchObject({
        replaces: allergy,
        text: "penicillin",
        details: "hives and swelling",
        since: "2019",
        status: "confirmed",
      });
      expect(getEntry(db, "facts", condition)).toMatchObject({
        text: "type 2 diabetes",
        removedReason: "entered for the wrong person",
      });
    });
    expect(lastAudit(home, 2).map((a) => (a as { action: string }).action)).toEqual([
      "fact.remove",
      "fact.correct",
    ]);
    const show = await runMedbot(["family", "show", "dad"], { home });
    expect(show.stdout).toContain(
      `fact:${corrected}  penicillin — hives and swelling (since 2019) [confirmed]`,
    );
    expect(show.stdout).not.toContain("type 2 diabetes");
    expect(show.stdout).not.toContain(`fact:${allergy} `);
    const after = view(home, "dad", "record.md");
    expect(after).toContain("**penicillin** — hives and swelling (since 2019)");
    expect(after).not.toContain("type 2 diabetes");
  });
});

describe("medbot family record: medications", () => {
  it("adds one with times that become reminders, corrects its dose (history kept) and stops it", async () => {
    const home = await household();
    const added = await record(
      home,
      "dad",
      "medication",
      "add",
      "metformin",
      "--dose",
      "500 mg",
      "--frequency",
      "twice daily",
      "--times",
      "08:00,20:00",
      "--start",
      "2026-11-01",
      "--reason",
      "type 2 diabetes",
    );
    const first = idIn(added, "medication");
    withDb(home, (db) => {
      expect(getEntry(db, "medications", first)).toMatchObject({
        name: "metformin",
        dose: "500 mg",
        frequency: "twice daily",
        timesOfDay: ["08:00", "20:00"],
        startDate: "2026-11-01",
        reason: "type 2 diabetes",
        state: "active",
        status: "confirmed",
      });
      const reminder = reminderAt(db, "dad", new Date("2026-11-15T20:00:00Z"), "UTC");
      expect(reminder?.medications.map((m) => m.id)).toEqual([first]);
    });
    expect(view(home, "dad", "medications.md")).toContain("- Dose: 500 mg");

    const second = idIn(
      await record(home, "dad", "medication", "correct", `medication:${first}`, "--dose", "1000 mg"),
      "medication",
    );
    withDb(home, (db) => {
      expect(getEntry(db, "medications", first)).toMatchObject({ dose: "500 mg", replacedBy: second });
      expect(getEntry(db, "medications", second)).toMatchObject({
        dose: "1000 mg",
        frequency: "twice daily",
        timesOfDay: ["08:00", "20:00"],
        replaces: first,
        status: "confirmed",
      });
    });
    const show = await runMedbot(["family", "show", "dad"], { home });
    expect(show.stdout).toContain(`medication:${second}  metformin, 1000 mg, twice daily, at 08:00, 20:00`);

    const stopped = idIn(
      await record(
        home,
        "dad",
        "medication",
        "stop",
        String(second),
        "--date",
        "2026-11-20",
        "--reason",
        "stomach upset",
      ),
      "medication",
    );
    withDb(home, (db) => {
      expect(getEntry(db, "medications", stopped)).toMatchObject({
        state: "stopped",
        stopDate: "2026-11-20",
        dose: "1000 mg",
        reason: "type 2 diabetes; stopped: stomach upset",
        replaces: second,
      });
      expect(reminderAt(db, "dad", new Date("2026-11-25T08:00:00Z"), "UTC")).toBeUndefined();
    });
    expect(lastAudit(home, 3).map((a) => (a as { action: string }).action)).toEqual([
      "medication.update",
      "medication.correct",
      "medication.add",
    ]);
    const medicationsMd = view(home, "dad", "medications.md");
    expect(medicationsMd).toMatch(/## Stopped\n\n### metformin[^\n]*\n\n- Dose: 1000 mg/);
    expect(medicationsMd).toContain("- Stopped: 2026-11-20");
    expect(medicationsMd).not.toContain("## Current");
  });
});

describe("medbot family record: symptoms", () => {
  it("adds an episode with its onset, ends it and corrects it", async () => {
    const home = await household();
    const added = idIn(
      await record(
        home,
        "mum",
        "symptom",
        "add",
        "headache",
        "--onset",
        "2026-12-01 08:00",
        "--severity",
        "mild",
        "--notes",
        "after a long flight",
      ),
      "symptom",
    );
    const ended = idIn(
      await record(home, "mum", "symptom", "end", `symptom:${added}`, "--at", "2026-12-01 14:30"),
      "symptom",
    );
    const corrected = idIn(
      await record(home, "mum", "symptom", "correct", `symptom:${ended}`, "--severity", "moderate"),
      "symptom",
    );
    withDb(home, (db) => {
      expect(getEntry(db, "symptoms", added)).toMatchObject({ ended: null, replacedBy: ended });
      expect(getEntry(db, "symptoms", corrected)).toMatchObject({
        name: "headache",
        onset: "2026-12-01T08:00",
        ended: "2026-12-01T14:30",
        severity: "moderate",
        notes: "after a long flight",
        status: "confirmed",
      });
    });
    expect(view(home, "mum", "symptoms.md")).toContain(
      "- 2026-12-01 08:00 **headache**, moderate, until 2026-12-01 14:30: after a long flight",
    );
    const show = await runMedbot(["family", "show", "mum"], { home });
    expect(show.stdout).toContain(`symptom:${corrected}  headache, from 2026-12-01T08:00`);
  });
});

describe("medbot family record: bad input", () => {
  it("refuses each with a clear error and changes nothing", async () => {
    const home = await household();
    const medication = idIn(
      await record(home, "dad", "medication", "add", "aspirin", "--dose", "75 mg"),
      "medication",
    );
    const symptom = idIn(
      await record(home, "dad", "symptom", "add", "cough", "--onset", "2026-11-30"),
      "symptom",
    );
    const condition = idIn(await record(home, "dad", "condition", "add", "asthma"), "fact");
    const audited = () => withDb(home, (db) => db.prepare("SELECT COUNT(*) AS n FROM audit_log").get());
    const before = audited();
    const cases: [string[], string][] = [
      [["grandpa", "allergy", "add", "penicillin"], 'No family member called "grandpa"'],
      [
        ["dad", "vaccine", "add", "flu"],
        'Unknown kind "vaccine": use allergy, condition, medication or symptom.',
      ],
      [
        ["dad", "medication", "pause", "1"],
        '"pause" is not an action for a medication: use add, correct, stop or remove.',
      ],
      [["dad", "medication", "stop", "medication:999"], "There is no medication #999 in Dad's record."],
      [
        ["mum", "medication", "stop", String(medication)],
        `There is no medication #${medication} in Mum's record.`,
      ],
      [
        ["dad", "medication", "stop", `symptom:${symptom}`],
        `"symptom:${symptom}" is a symptom id, not a medication id`,
      ],
      [
        ["dad", "allergy", "remove", `fact:${condition}`, "--reason", "x"],
        `fact:${condition} is a condition, not an allergy`,
      ],
      [["dad", "medication", "stop", "soon"], '"soon" is not a medication id: use one like medication:5'],
      [
        ["dad", "symptom", "add", "fever", "--onset", "2026-02-30"],
        '--onset "2026-02-30" is not a real date.',
      ],
      [["dad", "condition", "add", "gout", "--since", "last year"], '--since "last year" must be a year'],
      [
        ["dad", "medication", "add", "ibuprofen", "--times", "8am"],
        '--times "8am" must be times of day like 08:00,20:00',
      ],
      [
        ["dad", "symptom", "end", String(symptom), "--at", "2026-11-01"],
        "--at 2026-11-01 is before the symptom's onset (2026-11-30)",
      ],
      [["dad", "condition", "remove", `fact:${condition}`], "--reason is required to remove an entry"],
      [["dad", "allergy", "add", "penicillin", "--dose", "5 mg"], "--dose does not apply to allergy add"],
      [["dad", "allergy", "add"], "allergy add needs the allergy's name"],
      [["dad", "medication", "correct", String(medication)], "Nothing to correct: give the new values"],
    ];
    for (const [args, message] of cases) {
      const result = await runMedbot(["family", "record", ...args], { home });
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr, args.join(" ")).toContain(message);
    }
    expect(audited()).toEqual(before);
  }, 180_000);
});
