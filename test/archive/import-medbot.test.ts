// Importing a MedBot (Python) workspace: every member, fact, symptom event, medication, reading and report
// arrives as "reported", what cannot be read is named by file and line, and importing again adds nothing.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { currentEntries } from "../../src/archive/entries.js";
import { type ImportReport, importedAnything, importMedbotFamily } from "../../src/archive/import-medbot.js";
import { findFamilyFolder } from "../../src/archive/medbot-workspace.js";
import { metricSeries } from "../../src/archive/metrics.js";
import { GENERATED_MARK } from "../../src/archive/render.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { resolvePaths } from "../../src/config/paths.js";
import { onboard } from "../../src/setup/workspace.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { notPrivateUnder, runMedbot, tempHome } from "../support/medbot-cli.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/medbot-workspace", import.meta.url));
const FAMILY = path.join(FIXTURE, "family");

let db: Db;
let archive: FamilyArchive;
let workspace: string;

beforeEach(() => {
  db = openDatabase(":memory:");
  archive = new FamilyArchive(db);
  workspace = path.join(tempHome(), "workspace");
});

const owner = hostOwner();
const facts = (id: string, category: string) =>
  currentEntries(db, "facts", id)
    .filter((f) => f.category === category)
    .map((f) => f.text);
const rowCount = (table: string) =>
  (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
const problemsOf = (report: ImportReport) =>
  report.problems.map((p) => `${p.file}:${p.line ?? "-"} ${p.reason}`);

describe("importing a MedBot workspace", () => {
  it("accepts the workspace or its family/ folder, and refuses a folder that is neither", () => {
    expect(findFamilyFolder(FIXTURE)).toBe(FAMILY);
    expect(findFamilyFolder(FAMILY)).toBe(FAMILY);
    expect(() => findFamilyFolder(path.join(FIXTURE, "memory"))).toThrow(/is not a MedBot workspace/);
    expect(() => findFamilyFolder(path.join(FIXTURE, "nowhere"))).toThrow(/no such file or folder/);
  });

  it("creates each member with the profile MedBot kept, 爸爸 keeping his own id", async () => {
    const report = await importMedbotFamily(archive, FAMILY, workspace);
    expect(report.members.map((m) => [m.id, m.displayName, m.created])).toEqual([
      ["lily", "lily", true],
      ["mom", "Helen", true],
      ["爸爸", "爸爸", true],
    ]);
    expect(archive.member(owner, "爸爸")).toMatchObject({
      relationship: "father",
      sex: "male",
      birthDate: "1956-08-19",
      bloodType: "B+",
      emergencyContact: "妈妈 (Helen), 555-0142",
    });
    // "Sex: F" and "Birth date: 1959/11/3" were hand-written variants.
    expect(archive.member(owner, "Helen")).toMatchObject({
      id: "mom",
      relationship: "mother",
      sex: "female",
      birthDate: "1959-11-03",
      bloodType: "O-",
    });
  });

  it("files record.md's items under the right fact categories", async () => {
    await importMedbotFamily(archive, FAMILY, workspace);
    expect(facts("爸爸", "condition")).toEqual(["hypertension", "type 2 diabetes"]);
    expect(facts("爸爸", "surgery")).toEqual(["appendectomy 1988"]);
    expect(facts("爸爸", "hospitalisation")).toEqual(["hospitalized for pneumonia 2019"]);
    expect(facts("爸爸", "drug_allergy")).toEqual(["penicillin (rash)"]);
    expect(facts("爸爸", "contraindication")).toEqual(["avoid NSAIDs (kidney function)"]);
    expect(facts("爸爸", "family_history")).toEqual(["father had a stroke at 70"]);
    expect(facts("爸爸", "monitoring_goal")).toEqual([
      "blood pressure below 135/85",
      "fasting glucose below 7 mmol/L",
    ]);
    expect(facts("爸爸", "clinician")).toEqual(["Dr. Wang", "Dr. Wang (cardiology)"]);
    expect(facts("爸爸", "open_question")).toEqual(["should the amlodipine dose go up?"]);
    expect(facts("mom", "drug_allergy")).toEqual(["sulfa drugs", "codeine (nausea)"]);
    expect(facts("mom", "food_allergy")).toEqual(["shellfish"]);
    // The recent-summary lines that symptoms.md already holds are not doubled; the others are kept.
    expect(facts("爸爸", "concern")).toEqual([
      "mild chronic kidney disease",
      "blood pressure 148/96 on 2026-03-10, trending up",
    ]);
    expect(facts("mom", "concern")).toContain("2026-01-20 bone density scan: T-score -1.8");
  });

  it("keeps every symptom event with its date, the same symptom on two days as two events", async () => {
    await importMedbotFamily(archive, FAMILY, workspace);
    const dad = currentEntries(db, "symptoms", "爸爸");
    expect(dad.map((s) => [s.name, s.onset, s.severity, s.notes])).toEqual([
      ["cough", "2026-03-12T21:00", "5/10", "dry, worse at night"],
      ["dizziness when standing up", "2026-03-09T07:15", "4/10", null],
      ["dizziness when standing up", "2026-03-02T07:40", "3/10", "lasted a few seconds"],
    ]);
    // MedBot dropped "fever" once "fever and cough" existed; both are events here.
    expect(currentEntries(db, "symptoms", "mom").map((s) => s.name)).toEqual([
      "fever and cough",
      "fever 38.2 C",
      "knee pain after stairs",
    ]);
  });

  it("imports medications with dose, route, frequency, times, dates and state", async () => {
    await importMedbotFamily(archive, FAMILY, workspace);
    const byName = Object.fromEntries(currentEntries(db, "medications", "爸爸").map((m) => [m.name, m]));
    expect(byName["amlodipine (amlodipine besylate)"]).toMatchObject({
      dose: "5 mg",
      route: "oral",
      frequency: "once daily",
      timesOfDay: ["08:00"],
      startDate: "2021-04-01",
      state: "active",
      reason: "high blood pressure; note: checked with metformin, none found",
    });
    expect(byName.metformin).toMatchObject({
      dose: "500 mg",
      timesOfDay: ["08:00", "19:00"],
      startDate: null,
    });
    expect(byName.ibuprofen).toMatchObject({ state: "stopped", stopDate: "2025-11-20" });
    // record.md's "Current medications" named the same two drugs: not added twice.
    expect(Object.keys(byName)).toHaveLength(3);
    const mom = currentEntries(db, "medications", "mom").map((m) => [m.name, m.dose, m.frequency, m.state]);
    expect(mom).toEqual([
      ["levothyroxine", "50 mcg", "once daily before breakfast", "active"],
      ["calcium carbonate", "600 mg", "twice daily", "active"],
      ["paracetamol", "500 mg", null, "stopped"],
    ]);
  });

  it("records readings through recordMetric, converting units", async () => {
    await importMedbotFamily(archive, FAMILY, workspace);
    const bp = metricSeries(db, "爸爸", "blood_pressure").map((r) => [r.value, r.value2, r.pulse]);
    expect(bp).toEqual([
      [142, 90, 72],
      [138, 88, 70],
      [148, 96, 75],
    ]);
    expect(metricSeries(db, "爸爸", "glucose").map((r) => r.value)).toEqual([6.8, 6.99]);
    expect(metricSeries(db, "爸爸", "weight").map((r) => r.value)).toEqual([78]);
    expect(metricSeries(db, "mom", "temperature").map((r) => r.value)).toEqual([38.2, 38, 36.9]);
    expect(metricSeries(db, "mom", "heart_rate").map((r) => r.value)).toEqual([76]);
    expect(metricSeries(db, "lily", "weight").map((r) => r.value)).toEqual([19.96, 20.5]);
    expect(metricSeries(db, "爸爸", "blood_pressure")[0]!.note).toBe("before breakfast; sitting; home cuff");
  });

  it("stores MedBot's report files as reports", async () => {
    const report = await importMedbotFamily(archive, FAMILY, workspace);
    expect(report.members.find((m) => m.id === "mom")?.imported.reports).toBe(1);
    const row = db.prepare("SELECT title, report_date AS day, file, status FROM reports").get();
    expect(row).toMatchObject({ title: "Bone density scan (DEXA)", day: "2026-01-20", status: "reported" });
    expect(fs.existsSync(path.join(workspace, (row as { file: string }).file))).toBe(true);
  });

  it("marks everything reported, by the owner through the import channel", async () => {
    await importMedbotFamily(archive, FAMILY, workspace);
    for (const table of ["facts", "symptoms", "medications", "metrics", "reports"]) {
      const statuses = db.prepare(`SELECT DISTINCT status FROM ${table}`).all();
      expect(statuses).toEqual([{ status: "reported" }]);
    }
    const actors = new Set(listAudit(db).map((e) => `${e.actor}/${e.channel}`));
    expect([...actors]).toEqual(["owner/import"]);
  });

  it("names every line it could not read, and why", async () => {
    const report = await importMedbotFamily(archive, FAMILY, workspace);
    expect(problemsOf(report)).toEqual([
      "mom/medications.md:4 not part of a medication entry",
      expect.stringMatching(/^mom\/metrics\/temperature\.jsonl:5 "K" is not a unit for temperature/),
      '爸爸/medications.md:17 startDate "2023-13-01" of metformin is not a real date',
      expect.stringMatching(/^爸爸\/metrics\/blood_glucose\.jsonl:4 value "high" is not a number/),
      expect.stringMatching(
        /^爸爸\/metrics\/blood_pressure\.jsonl:4 Systolic blood pressure 1480 mmHg is not plausible/,
      ),
      "爸爸/metrics/blood_pressure.jsonl:5 not valid JSON",
      "爸爸/record.md:12 not a known field, and no section heading says what it is",
      '爸爸/symptoms.md:6 "2026-02-30 09:00" is not a real date or time',
      "爸爸/symptoms.md:7 no date or time for this symptom",
    ]);
  });

  it("adds no member for a folder with nothing readable, and says nothing was imported", async () => {
    const family = path.join(tempHome(), "family");
    fs.mkdirSync(path.join(family, "ghost", "metrics"), { recursive: true });
    fs.writeFileSync(path.join(family, "ghost", "metrics", "weight.jsonl"), '{"timestamp": "2026-03-01"\n');
    const report = await importMedbotFamily(archive, family, workspace);
    expect(report.members).toEqual([]);
    expect(problemsOf(report)).toEqual([
      "ghost:- nothing readable; member not added",
      "ghost/metrics/weight.jsonl:1 not valid JSON",
    ]);
    expect(importedAnything(report)).toBe(false);
    expect(rowCount("members")).toBe(0);
  });

  it("does not read medbot's own generated views back, nor follow symbolic links", async () => {
    const family = path.join(tempHome(), "family");
    fs.mkdirSync(path.join(family, "tom"), { recursive: true });
    fs.writeFileSync(path.join(family, "tom", "record.md"), `${GENERATED_MARK}\n# Tom — health record\n`);
    fs.symlinkSync(path.join(FAMILY, "mom", "symptoms.md"), path.join(family, "tom", "symptoms.md"));
    const report = await importMedbotFamily(archive, family, workspace);
    expect(problemsOf(report)).toEqual([
      "tom:- nothing readable; member not added",
      "tom/record.md:- a view generated by medbot itself, not a MedBot file",
      "tom/symptoms.md:- a symbolic link; not followed",
    ]);
  });

  it("adds nothing when the same folder is imported again", async () => {
    const first = await importMedbotFamily(archive, FAMILY, workspace);
    const tables = ["members", "facts", "symptoms", "medications", "metrics", "reports", "audit_log"];
    const before = tables.map(rowCount);
    const second = await importMedbotFamily(archive, FAMILY, workspace);
    expect(tables.map(rowCount)).toEqual(before);
    const total = (m: ImportReport["members"][number]) =>
      Object.values(m.imported).reduce((a, b) => a + b, 0);
    expect(second.members.map((m) => [m.id, m.created, total(m)])).toEqual([
      ["lily", false, 0],
      ["mom", false, 0],
      ["爸爸", false, 0],
    ]);
    expect(second.members.map((m) => m.alreadyPresent)).toEqual(first.members.map(total));
  });

  it("picks up only the new lines of a file that grew, and never undoes a correction made here", async () => {
    const copy = path.join(tempHome(), "family");
    fs.cpSync(FAMILY, copy, { recursive: true });
    await importMedbotFamily(archive, copy, workspace);
    const hypertension = currentEntries(db, "facts", "爸爸").find((f) => f.text === "hypertension")!;
    archive.revise(
      owner,
      "爸爸",
      "facts",
      hypertension.id,
      { text: "hypertension, stage 2" },
      {
        kind: "correct",
        reason: "the cardiologist's letter",
      },
    );
    fs.appendFileSync(
      path.join(copy, "爸爸", "symptoms.md"),
      "- [2026-03-15 08:00] dizziness when standing up\n",
    );
    const again = await importMedbotFamily(archive, copy, workspace);
    expect(again.members.find((m) => m.id === "爸爸")?.imported).toMatchObject({ symptoms: 1, facts: 0 });
    expect(facts("爸爸", "condition")).toEqual(["type 2 diabetes", "hypertension, stage 2"]);
  });
});

describe("medbot import-medbot", () => {
  it("reports per member, names unreadable lines, is idempotent and writes nothing outside the archive", async () => {
    const home = tempHome();
    const paths = resolvePaths({ configPath: path.join(home, "config.json") }, {});
    onboard(paths, {}, false, {});
    const before = snapshot(FIXTURE);

    const first = await runMedbot(["import-medbot", FIXTURE], { home });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      "爸爸 (id 爸爸, new member): 17 facts, 3 symptoms, 3 medications, 7 readings",
    );
    expect(first.stdout).toContain(
      "Helen (id mom, new member): 13 facts, 3 symptoms, 3 medications, 4 readings, 1 reports",
    );
    expect(first.stdout).toContain("Could not read 9 item(s):");
    expect(first.stdout).toContain("爸爸/metrics/blood_pressure.jsonl:5: not valid JSON");
    expect(first.stdout).toContain("爸爸/symptoms.md:7: no date or time for this symptom");

    const second = await runMedbot(["import-medbot", path.join(FIXTURE, "family"), "--json"], { home });
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout) as ImportReport;
    expect(report.members.every((m) => !m.created && Object.values(m.imported).every((n) => n === 0))).toBe(
      true,
    );

    expect(snapshot(FIXTURE)).toEqual(before);
    const written = fs.readdirSync(home, { recursive: true }).map(String);
    expect(written.filter((f) => !f.startsWith("workspace") && f !== "config.json")).toEqual([]);
    expect(written).toContain(path.join("workspace", "family", "爸爸", "record.md"));
    expect(notPrivateUnder(home)).toEqual([]);
  });

  it("refuses a path that is not a MedBot workspace, storing nothing", async () => {
    const home = tempHome();
    onboard(resolvePaths({ configPath: path.join(home, "config.json") }, {}), {}, false, {});
    const result = await runMedbot(["import-medbot", path.join(FIXTURE, "memory")], { home });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/memory is not a MedBot workspace: it has no family\/ folder/);
    const check = openDatabase(path.join(home, "workspace", "medbot.db"));
    expect((check.prepare("SELECT COUNT(*) AS n FROM audit_log").get() as { n: number }).n).toBe(0);
    check.close();
  });
});

/** Every file under `root` with a hash of its content and its modification time. */
function snapshot(root: string): Record<string, string> {
  const files = fs.readdirSync(root, { recursive: true }).map(String).sort();
  return Object.fromEntries(
    files.map((f) => {
      const full = path.join(root, f);
      const stat = fs.statSync(full);
      const hash = stat.isFile() ? createHash("sha256").update(fs.readFileSync(full)).digest("hex") : "dir";
      return [f, `${hash} ${stat.mtimeMs}`];
    }),
  );
}
