// What a clinician needs from a doctor export: who the patient is (or a plain line saying what is not
// recorded), the recent individual readings beside each summary, the medications stopped lately, one chart
// per summary, and a "Not yet reviewed" list of only what nobody confirmed among what the export shows.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { collectDoctorExport, exportMedicalRecord, measurementKeys } from "../../src/archive/export/index.js";
import { blocksToMarkdown, doctorExportBlocks } from "../../src/archive/export/markdown.js";
import { isFamilyWord } from "../../src/archive/export/patient.js";
import { doctorExportPdf } from "../../src/archive/export/pdf.js";
import { recordMetric } from "../../src/archive/metrics.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { pdfText } from "../support/pdf-text.js";
import { medicationFields } from "../support/records.js";

const owner = hostOwner();
const NOW = new Date("2026-03-14T10:00:00Z");
let root: string;
let workspace: string;
let db: Db;
let archive: FamilyArchive;

async function exportText(member: string, days?: number): Promise<string> {
  const { files } = await exportMedicalRecord(archive, owner, member, { workspace, format: "md", days });
  return fs.readFileSync(files[0]!, "utf8");
}

/** The text of one `## ` section, up to the next one. */
const sectionOf = (md: string, title: string) => md.split(`## ${title}`)[1]?.split("\n## ")[0] ?? "";

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-export-clinician-")));
  workspace = path.join(root, "workspace");
  db = openDatabase(path.join(workspace, "medbot.db"));
  archive = new FamilyArchive(db, { clock: () => NOW });
});
afterEach(() => {
  db.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe("the patient at the top", () => {
  it("gives the real name and birth date, with the family's words for them as aliases", async () => {
    archive.addMember(owner, {
      displayName: "Wang Jian",
      aliases: ["爸爸", "Dad"],
      relationship: "father",
      sex: "male",
      birthDate: "1956-03-14",
      timezone: "Asia/Shanghai",
    });
    const md = await exportText("爸爸");
    expect(md).toMatch(/^# Medical summary: Wang Jian$/m);
    expect(sectionOf(md, "Patient")).toBe(
      "\n\n- Full name: **Wang Jian**\n- Birth date: 1956-03-14 (age 70)\n- Sex: male\n- Also called: 爸爸, Dad\n- Relationship in the family: father\n",
    );
  });

  it("says plainly when the full name or the birth date is not recorded", async () => {
    archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad"], timezone: "Asia/Shanghai" });
    archive.addMember(owner, { displayName: "Ann", id: "ann", relationship: "Ann" });
    const md = await exportText("dad");
    expect(md).toContain("- Full name: not recorded (known as 爸爸)\n- Birth date: not recorded\n");
    const pdf = await exportMedicalRecord(archive, owner, "dad", { workspace, format: "pdf" });
    const text = await pdfText(fs.readFileSync(pdf.files[0]!));
    expect(text).toContain("Full name: not recorded");
    expect(text).toContain("Birth date: not recorded");
  });

  it("takes a display name that is only a family word, or the relationship itself, as no name", () => {
    for (const word of ["爸爸", "妈妈", "Dad", "mum", "Grandma", "my dad", "我爸", "外婆"]) {
      expect(isFamilyWord(word), word).toBe(true);
    }
    expect(isFamilyWord("Nonna", "Nonna")).toBe(true);
    for (const name of ["Wang Jian", "Grandpa Joe", "王建", "Ann", "Dadi Rao"]) {
      expect(isFamilyWord(name, "father"), name).toBe(false);
    }
  });
});

describe("recent individual readings", () => {
  beforeEach(() => {
    archive.addMember(owner, { displayName: "Grandpa Joe", id: "joe", timezone: "UTC" });
  });

  it("lists the newest ten of each summary in the window, newest first, with local time and note", async () => {
    recordMetric(archive, owner, "joe", { kind: "bp", value: "170/100", at: "2025-01-05T08:00" });
    for (let day = 1; day <= 12; day++) {
      const at = `2026-03-${String(day).padStart(2, "0")}T07:30`;
      const note = day === 12 ? "after climbing stairs" : undefined;
      recordMetric(archive, owner, "joe", { kind: "bp", value: `${120 + day}/80/70`, at, note });
    }
    recordMetric(archive, owner, "joe", { kind: "weight", value: 81.5, at: "2026-03-10T07:00" });
    const measurements = sectionOf(await exportText("joe"), "Measurements in the last 12 months");
    const bp = measurements.split("### Weight")[0]!;
    expect(bp).toContain("The latest 10 of 12 readings, newest first:");
    expect(bp).toContain("| Measured (UTC) | Reading | Note |");
    expect(bp).toContain("| 2026-03-12 07:30 | 132/80 mmHg, pulse 70 | after climbing stairs |");
    const rows = bp.match(/^\| 2026-03-\d\d 07:30 \|.*$/gm) ?? [];
    expect(rows).toHaveLength(10);
    expect(rows.at(-1)).toBe("| 2026-03-03 07:30 | 123/80 mmHg, pulse 70 |  |");
    expect(measurements).not.toContain("170/100");
    expect(measurements.split("### Weight")[1]).toContain(
      "Each reading, newest first:\n\n| Measured (UTC) | Reading |\n| --- | --- |\n| 2026-03-10 07:00 | 81.5 kg |",
    );
  });
});

describe("medications stopped within the window", () => {
  it("are listed apart, with dose, the day stopped and why; older stops are left out", async () => {
    archive.addMember(owner, { displayName: "Grandpa Joe", id: "joe", timezone: "UTC" });
    const add = (name: string, fields: Parameters<typeof medicationFields>[0]) =>
      archive.add(owner, "joe", "medications", medicationFields({ ...fields, name }), "confirmed");
    add("Metformin", { name: "", dose: "500 mg" });
    add("Amlodipine", {
      name: "",
      dose: "5 mg",
      state: "stopped",
      stopDate: "2026-02-01",
      reason: "ankle swelling",
    });
    add("Ibuprofen", {
      name: "",
      dose: "400 mg",
      state: "stopped",
      stopDate: "2025-06-01",
      reason: "pain gone",
    });
    const { entry } = add("Omeprazole", { name: "", dose: "20 mg" });
    archive.revise(owner, "joe", "medications", entry.id, { state: "stopped" }, { kind: "update" });
    const md = await exportText("joe");
    expect(sectionOf(md, "Medications stopped in the last 90 days")).toBe(
      [
        "",
        "",
        "| Medication | Dose | Stopped on | Reason |",
        "| --- | --- | --- | --- |",
        "| **Omeprazole** | 20 mg | not recorded (marked stopped 2026-03-14) |  |",
        "| **Amlodipine** | 5 mg | 2026-02-01 | ankle swelling |",
        "",
      ].join("\n"),
    );
    expect(md).not.toContain("Ibuprofen");
    expect(sectionOf(md, "Current medications")).not.toMatch(/Amlodipine|Omeprazole/);
    expect(await exportText("joe", 30)).not.toContain("Amlodipine");
  });
});

describe("summaries that share a kind (glucose per meal context)", () => {
  it("get a chart each: keys, Markdown links and PDF charts do not collide", async () => {
    expect(
      measurementKeys([
        { kind: "blood_pressure", label: "blood pressure" },
        { kind: "glucose", label: "Blood glucose (fasting)" },
        { kind: "glucose", label: "Blood glucose (after meal)" },
      ]),
    ).toEqual(["blood_pressure", "glucose_blood_glucose_fasting", "glucose_blood_glucose_after_meal"]);

    archive.addMember(owner, { displayName: "Grandpa Joe", id: "joe", timezone: "UTC" });
    const readings = [
      [1, 5.4, "fasting"],
      [2, 8.8, "after_meal"],
      [3, 5.6, "fasting"],
      [4, 9.1, "after_meal"],
      [5, 6.2, undefined],
    ] as const;
    for (const [day, value, context] of readings) {
      recordMetric(archive, owner, "joe", {
        kind: "glucose",
        value,
        at: `2026-03-0${day}T07:00`,
        ...(context ? { context } : {}),
      });
    }
    const data = collectDoctorExport(db, archive.member(owner, "joe"), NOW, 90);
    // One summary, chart and readings table per meal context; each covers only its own readings.
    const byLabel = new Map(data.measurements.map((m) => [m.summary.label, m]));
    expect([...byLabel.keys()].sort()).toEqual([
      "glucose (after meal)",
      "glucose (context not given)",
      "glucose (fasting)",
    ]);
    expect(byLabel.get("glucose (fasting)")!.points.map((r) => r.value)).toEqual([5.4, 5.6]);
    expect(byLabel.get("glucose (after meal)")!.recent.map((r) => r.value)).toEqual([9.1, 8.8]);
    expect(byLabel.get("glucose (context not given)")!.points.map((r) => r.value)).toEqual([6.2]);
    expect(new Set(data.measurements.map((m) => m.key)).size).toBe(3);

    const blocks = doctorExportBlocks(data);
    const md = blocksToMarkdown(blocks, (key) => `chart_${key}.svg`);
    expect(md).toContain("### Glucose (fasting)");
    expect(md).toContain("](chart_glucose_glucose_fasting.svg)");
    expect(md).toContain("](chart_glucose_glucose_after_meal.svg)");
    const text = await pdfText(await doctorExportPdf(blocks, data.charts, "UTC"));
    expect(text).toContain("Glucose (fasting) (mmol/L) over time");
    expect(text).toContain("Glucose (after meal) (mmol/L) over time");
  });
});

describe("the not yet reviewed section", () => {
  it("lists only what nobody confirmed among what the export shows, each once and briefly", async () => {
    archive.addMember(owner, { displayName: "Grandpa Joe", id: "joe", timezone: "UTC" });
    const fact = (text: string, status: "confirmed" | "reported", details: string | null = null) =>
      archive.add(owner, "joe", "facts", { category: "condition", text, details, since: null }, status);
    fact("type 2 diabetes", "confirmed", "diet and metformin");
    fact("gout", "reported", "flares in winter, left big toe");
    const symptom = (name: string, onset: string, status: "confirmed" | "reported") =>
      archive.add(
        owner,
        "joe",
        "symptoms",
        { name, onset, ended: null, severity: null, notes: null },
        status,
      );
    symptom("dry cough", "2026-03-01", "confirmed");
    symptom("ankle pain", "2024-06-01", "reported");
    archive.add(owner, "joe", "medications", medicationFields({ name: "Metformin" }), "confirmed");
    archive.add(
      owner,
      "joe",
      "medications",
      medicationFields({ name: "Codeine", state: "stopped", stopDate: "2023-01-01" }),
      "reported",
    );
    for (const day of [1, 2, 3]) {
      recordMetric(archive, owner, "joe", {
        kind: "bp",
        value: "130/80",
        at: `2026-03-0${day}T08:00`,
        status: "confirmed",
      });
    }
    recordMetric(archive, owner, "joe", { kind: "weight", value: 80, at: "2024-03-11T08:00" });

    const md = await exportText("joe");
    expect(sectionOf(md, "Conditions")).toContain("**gout** — flares in winter, left big toe");
    expect(sectionOf(md, "Not yet reviewed")).toBe(
      "\n\nReported to medbot or captured from conversation; nobody has confirmed these yet.\n\n- Conditions: **gout** (reported)\n",
    );
  });
});
