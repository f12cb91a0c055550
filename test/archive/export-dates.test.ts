// Every date a doctor export (and a record view) shows, and every window it cuts, is the member's own day:
// a UTC+8 family's 07:30 readings are not dated the day before, a UTC-5 family's 21:00 readings not the day after.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { collectDoctorExport, exportMedicalRecord } from "../../src/archive/export/index.js";
import { latestReadings, recordMetric, summariseMetrics } from "../../src/archive/metrics.js";
import { readMemberRecord, recordView } from "../../src/archive/render.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { localDateTime, localDay } from "../../src/time/dates.js";
import { pdfText } from "../support/pdf-text.js";

const owner = hostOwner();
/** 20:00 in Shanghai, 07:00 in New York (EST, UTC-5: no daylight saving in February). */
const NOW = new Date("2026-02-20T12:00:00Z");
let root: string;
let workspace: string;
let db: Db;
let archive: FamilyArchive;

const symptom = (member: string, name: string, onset: string) =>
  archive.add(
    owner,
    member,
    "symptoms",
    { name, onset, ended: null, severity: null, notes: null },
    "confirmed",
  );

/** Readings at `time` local on each of `days` (February 2026), entered as the member's wall clock. */
function readings(member: string, days: number[], time: string): void {
  for (const day of days) {
    const at = `2026-02-${String(day).padStart(2, "0")}T${time}`;
    recordMetric(archive, owner, member, { kind: "bp", value: `${120 + day}/80`, at, status: "confirmed" });
  }
}

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-export-dates-")));
  workspace = path.join(root, "workspace");
  db = openDatabase(path.join(workspace, "medbot.db"));
  archive = new FamilyArchive(db, { clock: () => NOW });
  archive.addMember(owner, { displayName: "Wang Jian", id: "wang", timezone: "Asia/Shanghai" });
  archive.addMember(owner, { displayName: "Ana Ruiz", id: "ana", timezone: "America/New_York" });
  readings("wang", [9, 10, 11, 12], "07:30"); // 23:30 UTC the day before
  readings("ana", [10, 11, 12, 13], "21:00"); // 02:00 UTC the day after
});
afterEach(() => {
  db.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe("stored times shown in the member's zone", () => {
  it("converts a time with an offset, keeps one entered without (the member's clock) and a plain day", () => {
    expect(localDateTime("2026-02-09T23:30:00.000Z", "Asia/Shanghai")).toBe("2026-02-10 07:30");
    expect(localDateTime("2026-02-11T02:00:00+00:00", "America/New_York")).toBe("2026-02-10 21:00");
    expect(localDateTime("2026-02-11T09:00+0800", "America/New_York")).toBe("2026-02-10 20:00");
    expect(localDateTime("2026-02-15T08:30", "Asia/Shanghai")).toBe("2026-02-15 08:30");
    expect(localDay("2026-02-15", "America/New_York")).toBe("2026-02-15");
    expect(localDateTime("last week", "UTC")).toBe("last week");
  });
});

describe("a UTC+8 member's morning readings", () => {
  it("are dated on the local day in the export's lines, its reading table and its SVG chart", async () => {
    const { files } = await exportMedicalRecord(archive, owner, "wang", { workspace, format: "md" });
    const md = fs.readFileSync(files[0]!, "utf8");
    expect(md).toContain("(2026-02-12 07:30)");
    expect(md).toContain("4 readings, 2026-02-09 to 2026-02-12");
    expect(md).toContain("| Measured (Asia/Shanghai) | Reading |");
    expect(md).toContain("| 2026-02-12 07:30 | 132/80 mmHg |");
    expect(md).toContain("| 2026-02-09 07:30 | 129/80 mmHg |");
    expect(md).not.toContain("2026-02-08");
    const svg = fs.readFileSync(files[0]!.replace(/\.md$/, "_blood_pressure.svg"), "utf8");
    const labels = [...svg.matchAll(/<text class="date"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels[0]).toBe("2026-02-09");
    expect(labels.at(-1)).toBe("2026-02-12");
  });

  it("are dated on the local day under the PDF's chart", async () => {
    const { files } = await exportMedicalRecord(archive, owner, "wang", { workspace, format: "pdf" });
    const text = await pdfText(fs.readFileSync(files[0]!));
    expect(text).toContain("2026-02-09");
    expect(text).toContain("2026-02-12 07:30");
    expect(text).not.toContain("2026-02-08");
  });

  it("are cut by the local day when readings are asked for since or until a date", () => {
    const day = (range: { since?: string; until?: string }) =>
      latestReadings(db, "wang", { ...range, limit: 10 }).map((r) => r.value);
    expect(day({ since: "2026-02-12" })).toEqual([132]);
    expect(day({ until: "2026-02-09" })).toEqual([129]);
    expect(summariseMetrics(db, "wang", { since: "2026-02-10", until: "2026-02-11" })[0]?.count).toBe(2);
  });

  it("cut the symptom window at the local midnight, and show entered times as entered", () => {
    symptom("wang", "inside: 07:30 on the first day", "2026-02-09T23:30:00Z");
    symptom("wang", "outside: 23:00 the day before", "2026-02-09T15:00:00Z");
    symptom("wang", "entered as local time", "2026-02-15T08:30");
    const data = collectDoctorExport(db, archive.member(owner, "wang"), NOW, 10);
    expect(data.windowStart).toBe("2026-02-10");
    expect(data.recentSymptoms.map((s) => s.name)).toEqual([
      "entered as local time",
      "inside: 07:30 on the first day",
    ]);
  });

  it("show a symptom's local time in the export", async () => {
    symptom("wang", "dizziness", "2026-02-09T23:30:00Z");
    symptom("wang", "headache", "2026-02-15T08:30");
    const { files } = await exportMedicalRecord(archive, owner, "wang", {
      workspace,
      format: "md",
      days: 10,
    });
    const md = fs.readFileSync(files[0]!, "utf8");
    expect(md).toContain("- 2026-02-15 08:30 **headache**");
    expect(md).toContain("- 2026-02-10 07:30 **dizziness**");
  });
});

describe("a UTC-5 member's evening readings", () => {
  it("are dated on the local day in the export's lines, its table, the SVG and the PDF", async () => {
    const { files } = await exportMedicalRecord(archive, owner, "ana", { workspace });
    const md = fs.readFileSync(files[0]!, "utf8");
    expect(md).toContain("4 readings, 2026-02-10 to 2026-02-13");
    expect(md).toContain("| 2026-02-13 21:00 | 133/80 mmHg |");
    expect(md).not.toContain("2026-02-14");
    const svg = fs.readFileSync(files[0]!.replace(/\.md$/, "_blood_pressure.svg"), "utf8");
    const labels = [...svg.matchAll(/<text class="date"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect([labels[0], labels.at(-1)]).toEqual(["2026-02-10", "2026-02-13"]);
    const text = await pdfText(fs.readFileSync(files[1]!));
    expect(text).toContain("2026-02-13");
    expect(text).not.toContain("2026-02-14");
  });

  it("cut the symptom window and the record view's recent symptoms at the local midnight", () => {
    symptom("ana", "inside: 21:00 on the first day", "2026-02-11T02:00:00Z");
    symptom("ana", "outside: 22:00 the day before", "2026-02-10T03:00:00Z");
    const data = collectDoctorExport(db, archive.member(owner, "ana"), NOW, 10);
    expect(data.windowStart).toBe("2026-02-10");
    expect(data.recentSymptoms.map((s) => s.name)).toEqual(["inside: 21:00 on the first day"]);

    // record.md lists the last 30 days: from 2026-01-21, New York time.
    symptom("ana", "view outside: 22:00 on 01-20", "2026-01-21T03:00:00Z");
    symptom("ana", "view inside: 21:00 on 01-21", "2026-01-22T02:00:00Z");
    const view = recordView(readMemberRecord(db, archive.member(owner, "ana"), NOW));
    expect(view).toContain("2026-01-21 21:00 **view inside: 21:00 on 01-21**");
    expect(view).not.toContain("view outside");
  });
});
