// Doctor exports: every section that has data and none that has not, same-day exports never overwrite,
// every export is audited, the PDF carries the text (CJK names too, where a CJK font is installed).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { exportMedicalRecordTool } from "../../src/agent/tools/export.js";
import { runToolCall, toolDefinitions } from "../../src/agent/tools/tool.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { collectDoctorExport, downsample, exportMedicalRecord } from "../../src/archive/export/index.js";
import { recordMetric } from "../../src/archive/metrics.js";
import { ingestReport } from "../../src/archive/reports.js";
import { listAudit, verifyAudit } from "../../src/audit/audit-log.js";
import { type Db, openDatabase } from "../../src/storage/db.js";

const owner = hostOwner();
const NOW = new Date("2026-03-14T10:00:00Z");
let root: string;
let workspace: string;
let db: Db;
let archive: FamilyArchive;

const cjkFont = [
  "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
  "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
  "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
].some((file) => fs.existsSync(file));

async function pdfText(file: string): Promise<string> {
  const { extractText } = await import("unpdf");
  return (await extractText(new Uint8Array(fs.readFileSync(file)), { mergePages: true })).text;
}

const exportsDir = (member: string) => path.join(workspace, "family", member);
const listExports = (member: string) =>
  fs.existsSync(exportsDir(member))
    ? fs
        .readdirSync(exportsDir(member))
        .filter((f) => f.startsWith("doctor_export"))
        .sort()
    : [];

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-export-")));
  workspace = path.join(root, "workspace");
  db = openDatabase(path.join(workspace, "medbot.db"));
  archive = new FamilyArchive(db, { clock: () => NOW });
  archive.addMember(owner, {
    displayName: "Grandpa Joe",
    id: "joe",
    sex: "male",
    birthDate: "1950-05-01",
    bloodType: "A+",
    emergencyContact: "Ann, 555-0100",
    timezone: "UTC",
  });
  archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad"], timezone: "Asia/Shanghai" });
});
afterEach(() => {
  db.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** A record with something in every section. */
async function fillRecord(member: string): Promise<void> {
  const fact = (
    category: string,
    text: string,
    status: "reported" | "confirmed" | "unreviewed" = "confirmed",
  ) =>
    archive.add(
      owner,
      member,
      "facts",
      { category: category as never, text, details: null, since: null },
      status,
    );
  fact("condition", "type 2 diabetes");
  fact("drug_allergy", "penicillin");
  fact("food_allergy", "shellfish", "reported");
  fact("contraindication", "no NSAIDs (kidney function)");
  fact("open_question", "Is the cough a side effect of lisinopril?");
  fact("condition", "sleep apnoea", "unreviewed");
  const med = {
    dose: "500 mg",
    route: "oral",
    frequency: "twice daily",
    timesOfDay: ["08:00", "20:00"],
    timezone: null,
    startDate: "2024-01-01",
    stopDate: null,
    reason: "diabetes",
    state: "active" as const,
  };
  archive.add(owner, member, "medications", { ...med, name: "Metformin" }, "confirmed");
  archive.add(
    owner,
    member,
    "medications",
    { ...med, name: "Lisinopril", dose: "10 mg", timesOfDay: [] },
    "reported",
  );
  archive.add(
    owner,
    member,
    "medications",
    { ...med, name: "Ibuprofen", state: "stopped", stopDate: "2025-01-01" },
    "confirmed",
  );
  const symptom = (name: string, onset: string, severity: string | null) =>
    archive.add(owner, member, "symptoms", { name, onset, ended: null, severity, notes: null }, "confirmed");
  symptom("dry cough", "2026-03-01", "moderate");
  symptom("dizziness", "2026-02-10", "mild");
  symptom("ankle pain", "2025-06-01", "severe");
  for (let day = 1; day <= 10; day++) {
    const at = `2026-03-${String(day).padStart(2, "0")}T07:30:00Z`;
    recordMetric(archive, owner, member, {
      kind: "bp",
      value: `${128 + day}/${82 + (day % 3)}`,
      at,
      status: "confirmed",
    });
  }
  recordMetric(archive, owner, member, { kind: "glucose", value: 7.2, at: "2026-03-12T07:00:00Z" });
  await ingestReport(
    archive,
    owner,
    member,
    {
      text: "HbA1c 7.1 %",
      title: "Blood panel",
      reportDate: "2026-02-20",
      summary: "HbA1c above target",
      keyValues: [{ name: "HbA1c", value: "7.1", unit: "%", range: "4.0-6.0", flag: "high" }],
      status: "confirmed",
    },
    workspace,
  );
}

describe("what a doctor export contains", () => {
  it("has each section when there is data for it, with values", async () => {
    await fillRecord("joe");
    const { files, member } = await exportMedicalRecord(archive, owner, "Grandpa Joe", {
      workspace,
      format: "md",
    });
    expect(member.displayName).toBe("Grandpa Joe");
    expect(files).toEqual([path.join(exportsDir("joe"), "doctor_export_20260314.md")]);
    const md = fs.readFileSync(files[0]!, "utf8");

    expect(md).toMatch(/^# Medical summary: Grandpa Joe$/m);
    expect(md).toMatch(
      /## Patient\n\n- Full name: \*\*Grandpa Joe\*\*\n- Birth date: 1950-05-01 \(age 75\)\n- Sex: male\n- Blood type: A\+\n- Emergency contact: Ann, 555-0100/,
    );
    expect(md).toMatch(/## Allergies\n\n- Drug: \*\*penicillin\*\*\n- Food: \*\*shellfish\*\*/);
    expect(md).toMatch(/## Conditions\n\n- \*\*type 2 diabetes\*\*/);
    expect(md).toMatch(/## Contraindications\n\n- \*\*no NSAIDs \(kidney function\)\*\*/);
    expect(md).toContain(
      "| **Metformin** | 500 mg | oral | twice daily | 08:00, 20:00 | 2024-01-01 | diabetes |",
    );
    expect(md).toContain("| **Lisinopril** | 10 mg |");
    expect(md.split("## Current medications")[1]?.split("\n## ")[0]).not.toContain("Ibuprofen");
    expect(md).toMatch(
      /## Symptoms in the last 90 days \(2 events, newest first\)\n\n- 2026-03-01 \*\*dry cough\*\*, moderate\n- 2026-02-10 \*\*dizziness\*\*, mild\n/,
    );
    expect(md).not.toContain("ankle pain");
    expect(md).toMatch(
      /### Blood pressure\n\n- Latest: \*\*138\/83 mmHg\*\* \(2026-03-10 07:30\)\n- 10 readings, 2026-03-01 to 2026-03-10\n- Range: systolic 129–138, mean 133.5; diastolic 82–84, mean 83 mmHg\n- Trend: rising/,
    );
    expect(md).toMatch(/### Glucose\n\n- Latest: \*\*7.2 mmol\/L\*\* \(2026-03-12 07:00\)\n- 1 reading\n/);
    expect(md).toContain("![Blood pressure (mmHg) over time](doctor_export_20260314_blood_pressure.svg)");
    const svg = fs.readFileSync(
      path.join(exportsDir("joe"), "doctor_export_20260314_blood_pressure.svg"),
      "utf8",
    );
    expect(svg).toMatch(/^<svg[^>]*>/);
    expect(md).toMatch(
      /### 2026-02-20: Blood panel\n\nHbA1c above target\n\n- HbA1c 7.1 % \(ref 4.0-6.0\) high/,
    );
    expect(md).toMatch(/## Open questions\n\n- \*\*Is the cough a side effect of lisinopril\?\*\*/);
    const review = md.split("## Not yet reviewed")[1] ?? "";
    expect(review).toContain("Food allergies: **shellfish** (reported)");
    expect(review).toContain("Conditions: **sleep apnoea** (auto-captured, unreviewed)");
    expect(review).toContain("Medication: **Lisinopril** (reported)");
    expect(review).toContain("1 glucose reading");
    expect(review).not.toMatch(/Metformin|penicillin|blood pressure/);
  });

  it("leaves out every section without data, and says so only for allergies", async () => {
    const { files } = await exportMedicalRecord(archive, owner, "dad", { workspace, format: "md" });
    const md = fs.readFileSync(files[0]!, "utf8");
    expect(md.match(/^## .*/gm)).toEqual(["## Patient", "## Allergies"]);
    expect(md).toContain("No allergies recorded.");
    expect(md).not.toMatch(/none recorded|no data|n\/a/i);
    expect(listExports("爸爸")).toEqual(["doctor_export_20260314.md"]);
  });

  it("shows only the current versions: a removed allergy and a corrected dose are not in it", async () => {
    const { entry: allergy } = archive.add(
      owner,
      "joe",
      "facts",
      { category: "drug_allergy", text: "codeine", details: null, since: null },
      "reported",
    );
    const { entry: med } = archive.add(
      owner,
      "joe",
      "medications",
      {
        name: "Warfarin",
        dose: "5 mg",
        route: null,
        frequency: null,
        timesOfDay: [],
        timezone: null,
        startDate: null,
        stopDate: null,
        reason: null,
        state: "active",
      },
      "confirmed",
    );
    archive.remove(owner, "joe", "facts", allergy.id, "mistaken");
    archive.revise(
      owner,
      "joe",
      "medications",
      med.id,
      { dose: "3 mg" },
      { kind: "correct", reason: "typo" },
    );
    const md = fs.readFileSync(
      (await exportMedicalRecord(archive, owner, "joe", { workspace, format: "md" })).files[0]!,
      "utf8",
    );
    expect(md).not.toContain("codeine");
    expect(md).toContain("No allergies recorded.");
    expect(md).toContain("| **Warfarin** | 3 mg |");
    expect(md).not.toContain("5 mg");
  });

  it("limits the symptom timeline to the window asked for", async () => {
    await fillRecord("joe");
    const data = collectDoctorExport(db, archive.member(owner, "joe"), NOW, 400);
    expect(data.recentSymptoms.map((s) => s.name)).toEqual(["dry cough", "dizziness", "ankle pain"]);
    expect(
      collectDoctorExport(db, archive.member(owner, "joe"), NOW, 20).recentSymptoms.map((s) => s.name),
    ).toEqual(["dry cough"]);
  });
});

describe("files and records of an export", () => {
  it("gives a second export on the same day a new name and leaves the first as it was", async () => {
    await fillRecord("joe");
    const first = await exportMedicalRecord(archive, owner, "joe", { workspace });
    const before = first.files.map((f) => fs.readFileSync(f));
    const second = await exportMedicalRecord(archive, owner, "joe", { workspace });
    const third = await exportMedicalRecord(archive, owner, "joe", { workspace, format: "pdf" });
    expect(first.files.map((f) => path.basename(f))).toEqual([
      "doctor_export_20260314.md",
      "doctor_export_20260314.pdf",
    ]);
    expect(second.files.map((f) => path.basename(f))).toEqual([
      "doctor_export_20260314_2.md",
      "doctor_export_20260314_2.pdf",
    ]);
    expect(third.files.map((f) => path.basename(f))).toEqual(["doctor_export_20260314_3.pdf"]);
    expect(first.files.map((f) => fs.readFileSync(f))).toEqual(before);
    expect(fs.readFileSync(second.files[0]!, "utf8")).toContain(
      "](doctor_export_20260314_2_blood_pressure.svg)",
    );
    for (const file of fs.readdirSync(exportsDir("joe"))) {
      expect(fs.statSync(path.join(exportsDir("joe"), file)).mode & 0o777, file).toBe(
        file === "reports" ? 0o700 : 0o600,
      );
    }
  });

  it("records every document written in `exports` and in the audit log, without health content", async () => {
    await fillRecord("joe");
    const before = listAudit(db, { memberId: "joe" }).length;
    await exportMedicalRecord(archive, owner, "joe", { workspace });
    const rows = db.prepare("SELECT member_id AS memberId, file, format FROM exports ORDER BY id").all();
    expect(rows).toEqual([
      { memberId: "joe", file: path.join("family", "joe", "doctor_export_20260314.md"), format: "md" },
      { memberId: "joe", file: path.join("family", "joe", "doctor_export_20260314.pdf"), format: "pdf" },
    ]);
    const entries = listAudit(db, { memberId: "joe" }).slice(before);
    expect(entries.map((e) => [e.action, e.note, e.actor])).toEqual([
      ["export", "md", "owner"],
      ["export", "pdf", "owner"],
    ]);
    expect(JSON.stringify(entries)).not.toMatch(/penicillin|Metformin|diabetes/);
    expect(verifyAudit(db).ok).toBe(true);
  });

  it("writes to an output file when asked, and refuses one that exists", async () => {
    await fillRecord("joe");
    const output = path.join(root, "for-dr-lee.pdf");
    const { files } = await exportMedicalRecord(archive, owner, "joe", { workspace, output });
    expect(files).toEqual([output]);
    expect(fs.readFileSync(output).subarray(0, 5).toString()).toBe("%PDF-");
    const audits = listAudit(db, {}).length;
    await expect(exportMedicalRecord(archive, owner, "joe", { workspace, output })).rejects.toThrow(
      /already exists/,
    );
    expect(listAudit(db, {}).length).toBe(audits);
  });

  it("refuses bad requests with a clear error and writes nothing", async () => {
    const attempts: [string, () => Promise<unknown>, RegExp][] = [
      [
        "unknown member",
        () => exportMedicalRecord(archive, owner, "grandma", { workspace }),
        /No family member called "grandma"/,
      ],
      [
        "zero-day window",
        () => exportMedicalRecord(archive, owner, "joe", { workspace, days: 0 }),
        /whole number of days/,
      ],
      [
        "unknown format",
        () => exportMedicalRecord(archive, owner, "joe", { workspace, format: "docx" as never }),
        /format "docx"/,
      ],
      [
        "two formats into one file",
        () =>
          exportMedicalRecord(archive, owner, "joe", {
            workspace,
            format: "both",
            output: path.join(root, "x"),
          }),
        /one format/,
      ],
    ];
    const audits = listAudit(db, {}).length;
    for (const [what, attempt, message] of attempts) await expect(attempt(), what).rejects.toThrow(message);
    expect(listAudit(db, {}).length).toBe(audits);
    expect(listExports("joe")).toEqual([]);
    expect(db.prepare("SELECT COUNT(*) AS n FROM exports").get()).toEqual({ n: 0 });
  });

  it("exports only members the person is granted", async () => {
    const caregiver: Actor = { person: "ann", channel: "telegram", grants: ["joe"] };
    await expect(exportMedicalRecord(archive, caregiver, "dad", { workspace })).rejects.toThrow(
      /No family member called "dad"/,
    );
    expect(listExports("爸爸")).toEqual([]);
  });
});

describe("the PDF", () => {
  it("is a PDF whose text carries the member's name and medications", async () => {
    await fillRecord("joe");
    const { files } = await exportMedicalRecord(archive, owner, "joe", { workspace, format: "pdf" });
    expect(fs.readFileSync(files[0]!).subarray(0, 5).toString()).toBe("%PDF-");
    const text = await pdfText(files[0]!);
    expect(text).toContain("Medical summary: Grandpa Joe");
    expect(text).toContain("Metformin");
    expect(text).toContain("penicillin");
    expect(text).toContain("HbA1c above target");
  });

  it.runIf(cjkFont)("sets Chinese names in a CJK font so they can be read back", async () => {
    archive.add(
      owner,
      "dad",
      "medications",
      {
        name: "阿司匹林",
        dose: "100 mg",
        route: null,
        frequency: null,
        timesOfDay: [],
        timezone: null,
        startDate: null,
        stopDate: null,
        reason: null,
        state: "active",
      },
      "reported",
    );
    const { files } = await exportMedicalRecord(archive, owner, "爸爸", { workspace, format: "pdf" });
    const text = await pdfText(files[0]!);
    expect(text).toContain("Medical summary: 爸爸");
    expect(text).toContain("阿司匹林");
  });
});

describe("chart points", () => {
  it("keeps at most the limit, in time order, each the mean of its run", () => {
    const readings = Array.from({ length: 1000 }, (_, i) => ({
      id: i + 1,
      memberId: "joe",
      kind: "blood_pressure",
      value: 100 + (i % 10),
      value2: 70,
      pulse: null,
      unit: "mmHg",
      measuredAt: new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString(),
      note: null,
      status: "confirmed" as const,
    }));
    const points = downsample(readings, 100);
    expect(points).toHaveLength(100);
    expect(points.every((p, i) => i === 0 || p.measuredAt > points[i - 1]!.measuredAt)).toBe(true);
    expect(points.every((p) => p.value === 104.5 && p.value2 === 70)).toBe(true);
    expect(downsample(readings.slice(0, 5), 100)).toHaveLength(5);
  });
});

describe("the export_medical_record tool", () => {
  const context = () => ({
    workspace,
    restrictToWorkspace: true,
    builtinSkills: "/nonexistent",
    sessionKey: "test:chat:alice",
    actor: owner,
    archive,
  });

  it("answers with the member's name and the workspace-relative paths it wrote", async () => {
    const reply = await runToolCall(
      [exportMedicalRecordTool],
      { id: "c1", name: "export_medical_record", arguments: JSON.stringify({ member: "dad" }) },
      context(),
    );
    expect(reply).toBe(
      `Exported 爸爸's medical record: ${path.join("family", "爸爸", "doctor_export_20260314.md")}, ${path.join("family", "爸爸", "doctor_export_20260314.pdf")}`,
    );
  });

  it("turns a bad argument into an error result", async () => {
    const reply = await runToolCall(
      [exportMedicalRecordTool],
      {
        id: "c1",
        name: "export_medical_record",
        arguments: JSON.stringify({ member: "dad", format: "docx" }),
      },
      context(),
    );
    expect(reply).toMatch(/^Error: invalid arguments for export_medical_record/);
    expect(listExports("爸爸")).toEqual([]);
  });

  it("costs the model at most 120 tokens per request", () => {
    expect(JSON.stringify(toolDefinitions([exportMedicalRecordTool])).length / 4).toBeLessThanOrEqual(120);
  });
});
