// Importing a MedBot workspace that MedBot kept updating between two imports: record.md is rewritten with a
// new "Last updated" each time, yet its weight and height are readings once, each fact and symptom is kept
// once, and the export's latest weight is the last real weighing.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { exportMedicalRecord } from "../../src/archive/export/index.js";
import { importMedbotFamily } from "../../src/archive/import-medbot.js";
import { metricSeries } from "../../src/archive/metrics.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { tempHome } from "../support/medbot-cli.js";

const FAMILY = fileURLToPath(new URL("../fixtures/medbot-workspace/family", import.meta.url));

let db: Db;
let now: Date;
let archive: FamilyArchive;
let workspace: string;
let copy: string;

beforeEach(() => {
  const home = tempHome();
  workspace = path.join(home, "workspace");
  fs.mkdirSync(workspace, { recursive: true, mode: 0o700 });
  db = openDatabase(path.join(workspace, "medbot.db"));
  archive = new FamilyArchive(db, { clock: () => now });
  copy = path.join(home, "medbot", "family");
  fs.cpSync(FAMILY, copy, { recursive: true });
});

afterEach(() => db.close());

const dad = (file: string) => path.join(copy, "爸爸", file);

/** What MedBot's update_record does: the whole record.md written again, with a new "Last updated". */
function rewriteRecord(updated: string, weight = "78 kg"): void {
  const text = fs
    .readFileSync(dad("record.md"), "utf8")
    .replace(/- Weight: .*/, `- Weight: ${weight}`)
    .replace(/- Last updated: .*/, `- Last updated: ${updated}`);
  fs.writeFileSync(dad("record.md"), text);
}

const countOf = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
const duplicates = (table: string, key: string) =>
  countOf(
    `SELECT COUNT(*) AS n FROM (SELECT ${key} FROM ${table} GROUP BY member_id, ${key} HAVING COUNT(*) > 1)`,
  );

describe("importing a MedBot workspace updated between imports", () => {
  it("keeps each fact, symptom and reading once; profile weight is a reading only when new", async () => {
    now = new Date("2026-03-15T02:00:00Z");
    await importMedbotFamily(archive, copy, workspace);

    // MedBot's use over the next days: a weighing, a new symptom, record.md rewritten (weight line unchanged).
    fs.writeFileSync(
      dad("metrics/weight.jsonl"),
      '{"timestamp":"2026-03-20 07:30","value":76.4,"unit":"kg","source":"home scale","notes":""}\n',
    );
    fs.appendFileSync(dad("symptoms.md"), "- [2026-03-19 09:00] patient-reported: headache; severity 2/10\n");
    rewriteRecord("2026-03-20 21:05");
    now = new Date("2026-03-21T02:00:00Z");
    const second = await importMedbotFamily(archive, copy, workspace);
    expect(second.members.find((m) => m.id === "爸爸")?.imported).toMatchObject({
      facts: 0,
      symptoms: 1,
      medications: 0,
      metrics: 1,
    });

    const weights = metricSeries(db, "爸爸", "weight").map((r) => [r.value, r.measuredAt, r.note]);
    expect(weights).toEqual([
      [78, "2026-03-15T02:00:00.000Z", expect.stringMatching(/^from MedBot profile/)],
      [76.4, expect.stringMatching(/^2026-03-2/), "home scale"],
    ]);
    expect(metricSeries(db, "爸爸", "height").map((r) => r.value)).toEqual([172]);

    // MedBot now writes the new weight into record.md too: nothing new either.
    rewriteRecord("2026-03-22 08:00", "76.4 kg");
    now = new Date("2026-03-23T02:00:00Z");
    const third = await importMedbotFamily(archive, copy, workspace);
    expect(third.members.every((m) => Object.values(m.imported).every((n) => n === 0))).toBe(true);

    expect(duplicates("facts", "category, text")).toBe(0);
    expect(duplicates("symptoms", "name, onset")).toBe(0);
    expect(duplicates("metrics", "kind, measured_at, value")).toBe(0);
    expect(countOf("SELECT COUNT(*) AS n FROM metrics WHERE member_id = '爸爸' AND kind = 'weight'")).toBe(2);

    const { files } = await exportMedicalRecord(archive, hostOwner("cli"), "爸爸", {
      workspace,
      format: "md",
    });
    const text = fs.readFileSync(files[0]!, "utf8");
    const weightSection = text.slice(text.indexOf("Weight"));
    expect(weightSection).toMatch(/Latest: \*\*76\.4 kg\*\*/);
    expect(text).not.toMatch(/Latest: \*\*78 kg\*\*/);
  });

  it("names a profile weight it cannot read, and stores nothing for it", async () => {
    now = new Date("2026-03-15T02:00:00Z");
    rewriteRecord("2026-03-14 20:10", "heavy");
    const report = await importMedbotFamily(archive, copy, workspace);
    expect(report.problems.map((p) => `${p.file}:${p.line} ${p.reason}`)).toContainEqual(
      expect.stringMatching(/^爸爸\/record\.md:9 "heavy" is not a number/),
    );
    expect(metricSeries(db, "爸爸", "weight")).toEqual([]);
  });
});
