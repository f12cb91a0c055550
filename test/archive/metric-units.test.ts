// Readings keep what was said: the original value and unit beside the canonical one, a household or member
// unit preference for what is shown, a "did you mean --unit" hint for unitless values in another unit, and
// glucose per meal context, all through the real archive, record text, doctor export and model tools.
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { BUILTIN_SKILLS_DIR } from "../../src/agent/skills.js";
import { metricTools } from "../../src/agent/tools/metrics.js";
import { runToolCall, type ToolContext } from "../../src/agent/tools/tool.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { collectDoctorExport } from "../../src/archive/export/index.js";
import { blocksToMarkdown, doctorExportBlocks } from "../../src/archive/export/markdown.js";
import { importMedbotFamily } from "../../src/archive/import-medbot.js";
import { setMemberUnits, useHouseholdUnits } from "../../src/archive/metric-units.js";
import { type MetricInput, recordMetric, summariseMetrics } from "../../src/archive/metrics.js";
import { formatReading, metricRange, metricSummaryLine } from "../../src/archive/record-text.js";
import { readMemberRecord, recordView } from "../../src/archive/render.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { tempHome } from "../support/medbot-cli.js";

const NOW = new Date("2026-11-22T12:00:00Z");
const owner = hostOwner();
let db: Db;
let archive: FamilyArchive;

beforeEach(() => {
  db = openDatabase(":memory:");
  archive = new FamilyArchive(db, { clock: () => NOW });
  archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad"], timezone: "UTC" });
  archive.addMember(owner, { displayName: "妈妈", aliases: ["Mum"], timezone: "UTC" });
});

const record = (input: MetricInput, who = "爸爸") => recordMetric(archive, owner, who, input).reading;
const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const exportText = (who: string) =>
  blocksToMarkdown(
    doctorExportBlocks(collectDoctorExport(db, archive.member(owner, who), NOW, 90)),
    () => undefined,
  );

function expectRefused(input: MetricInput, message: RegExp): void {
  const before = [count("metrics"), count("audit_log")];
  expect(() => recordMetric(archive, owner, "爸爸", input)).toThrow(message);
  expect([count("metrics"), count("audit_log")]).toEqual(before);
}

describe("the original value and unit", () => {
  it("keeps 110 mg/dL beside the canonical 6.11 mmol/L and shows both", () => {
    const reading = record({ kind: "glucose", value: 110, unit: "mg/dL", at: "2026-11-20T07:00" });
    expect(reading).toMatchObject({ value: 6.11, unit: "mmol/L", originalValue: 110, originalUnit: "mg/dL" });
    const row = db.prepare("SELECT original_value, original_unit FROM metrics WHERE id = ?").get(reading.id);
    expect(row).toEqual({ original_value: 110, original_unit: "mg/dL" });
    expect(formatReading(reading)).toBe("6.11 mmol/L (110 mg/dL as measured)");
    const view = recordView(readMemberRecord(db, archive.member(owner, "Dad"), NOW));
    expect(view).toContain("6.11 mmol/L (110 mg/dL as measured)");
    expect(exportText("Dad")).toContain("6.11 mmol/L (110 mg/dL as measured)");
  });

  it("stores no original for a reading said in the canonical unit (NULL means the same)", () => {
    const reading = record({ kind: "glucose", value: "6.1", at: "2026-11-20T07:00" });
    expect(reading).toMatchObject({ originalValue: null, originalUnit: null });
    expect(formatReading(reading)).toBe("6.1 mmol/L");
  });

  it("keeps both numbers of a blood pressure said in kPa", () => {
    const reading = record({ kind: "bp", value: "17.3/11.3/70", unit: "kPa", at: "2026-11-20T07:00" });
    expect(reading).toMatchObject({ value: 130, value2: 85, originalValue: 17.3, originalValue2: 11.3 });
    expect(formatReading(reading)).toBe("130/85 mmHg (17.3/11.3 kPa as measured), pulse 70");
  });
});

describe("unit preferences", () => {
  it("a member's preference mg/dL shows glucose as said, and converts what was said in mmol/L", () => {
    setMemberUnits(archive, owner, "Dad", { glucose: "mg/dl" });
    record({ kind: "glucose", value: 110, unit: "mg/dL", at: "2026-11-20T07:00" });
    record({ kind: "glucose", value: "6.1", at: "2026-11-21T07:00" });
    const [summary] = summariseMetrics(db, "爸爸");
    expect(formatReading(summary!.latest)).toBe("110 mg/dL (6.1 mmol/L as measured)");
    expect(metricRange(summary!)).toBe("110–110, mean 110 mg/dL");
    expect(exportText("Dad")).toContain("Latest: **110 mg/dL (6.1 mmol/L as measured)**");
    const first = summariseMetrics(db, "爸爸", { until: "2026-11-20" })[0]!;
    expect(formatReading(first.latest)).toBe("110 mg/dL");
    // 妈妈 has no preference: canonical unit.
    record({ kind: "glucose", value: 110, unit: "mg/dL", at: "2026-11-20T07:00" }, "妈妈");
    expect(formatReading(summariseMetrics(db, "妈妈")[0]!.latest)).toBe(
      "6.11 mmol/L (110 mg/dL as measured)",
    );
  });

  it("the household preference lb shows weight in lb; a member preference wins over it", () => {
    useHouseholdUnits(db, { weight: "lb" });
    record({ kind: "weight", value: 70, at: "2026-11-20T07:00" });
    record({ kind: "weight", value: "150 lb", at: "2026-11-21T07:00" }, "妈妈");
    const dad = summariseMetrics(db, "爸爸")[0]!;
    expect(formatReading(dad.latest)).toBe("154.3 lb (70 kg as measured)");
    expect(metricSummaryLine(dad, "UTC")).toContain("**Weight**: 154.3 lb (70 kg as measured)");
    expect(formatReading(summariseMetrics(db, "妈妈")[0]!.latest)).toBe("150 lb");
    expect(exportText("Mum")).toContain("150 lb");
    setMemberUnits(archive, owner, "Mum", { weight: "kg" });
    expect(formatReading(summariseMetrics(db, "妈妈")[0]!.latest)).toBe("68.04 kg (150 lb as measured)");
  });

  it("refuses a preference for an unknown kind or a unit the kind does not have, changing nothing", () => {
    const before = count("audit_log");
    expect(() => setMemberUnits(archive, owner, "Dad", { glucose: "stone" })).toThrow(
      /"stone" is not a unit for glucose\. Accepted: mmol\/L, mg\/dL/,
    );
    expect(() => setMemberUnits(archive, owner, "Dad", { happiness: "kg" })).toThrow(
      /"happiness" is not a kind/,
    );
    expect(() => useHouseholdUnits(db, { weight: "stone" })).toThrow(/"stone" is not a unit for weight/);
    expect(count("audit_log")).toBe(before);
  });

  it("a preference change is audited and marks the member's views stale", () => {
    archive.markViewsFresh("爸爸");
    setMemberUnits(archive, owner, "Dad", { weight: "lb", temperature: "F" });
    expect(archive.staleMembers()).toContain("爸爸");
    const audit = db
      .prepare("SELECT action, member_id AS memberId FROM audit_log ORDER BY seq DESC LIMIT 1")
      .get();
    expect(audit).toEqual({ action: "member.units", memberId: "爸爸" });
    record({ kind: "temperature", value: "37.5", at: "2026-11-20T07:00" });
    expect(formatReading(summariseMetrics(db, "爸爸")[0]!.latest)).toBe("99.5 °F (37.5 °C as measured)");
  });
});

describe("a unitless value that fits only another unit", () => {
  it("glucose 110 gets the mg/dL hint and stores nothing", () => {
    expectRefused({ kind: "glucose", value: 110 }, /did you mean `--unit mg\/dL` \(6\.1 mmol\/L\)\?/);
  });

  it("temperature 98.6 gets the °F hint and stores nothing", () => {
    expectRefused({ kind: "temperature", value: "98.6" }, /did you mean `--unit F` \(37 °C\)\?/);
  });

  it("values plausible in the default unit are stored as before", () => {
    expect(record({ kind: "glucose", value: 11 })).toMatchObject({ value: 11, unit: "mmol/L" });
    expect(record({ kind: "temperature", value: 38.2 })).toMatchObject({ value: 38.2, unit: "°C" });
  });
});

describe("glucose per meal context", () => {
  it("records a context by name or alias (English and Chinese) and refuses unknown ones", () => {
    expect(record({ kind: "glucose", value: 5.6, context: "空腹" }).context).toBe("fasting");
    expect(record({ kind: "glucose", value: 8.9, context: "after breakfast" }).context).toBe("after_meal");
    expect(record({ kind: "glucose", value: 7.2, context: "餐前" }).context).toBe("before_meal");
    expect(record({ kind: "glucose", value: 7.0, context: "睡前" }).context).toBe("bedtime");
    expectRefused(
      { kind: "glucose", value: 6, context: "teatime" },
      /Meal context "teatime" is not one of fasting, before_meal, after_meal, bedtime, random/,
    );
    expectRefused(
      { kind: "weight", value: 70, context: "fasting" },
      /Only glucose readings carry a meal context/,
    );
  });

  it("summarises glucose per context, so the export shows each", () => {
    for (const [value, context, at] of [
      [5.4, "fasting", "2026-11-18T07:00"],
      [5.8, "fasting", "2026-11-19T07:00"],
      [8.6, "餐后", "2026-11-19T13:00"],
      [9.4, "after meal", "2026-11-20T13:00"],
    ] as const)
      record({ kind: "glucose", value, context, at });
    const labels = summariseMetrics(db, "爸爸").map((s) => [s.label, s.count, s.min, s.max]);
    expect(labels).toEqual([
      ["glucose (fasting)", 2, 5.4, 5.8],
      ["glucose (after meal)", 2, 8.6, 9.4],
    ]);
    const text = exportText("Dad");
    expect(text).toContain("Glucose (fasting)");
    expect(text).toContain("Glucose (after meal)");
  });
});

describe("importing MedBot's glucose lines", () => {
  it("keeps their meal_context as the context, the rest as the note, and mg/dL as measured", async () => {
    const fresh = new FamilyArchive(openDatabase(":memory:"), { clock: () => NOW });
    const family = fileURLToPath(new URL("../fixtures/medbot-workspace/family", import.meta.url));
    await importMedbotFamily(fresh, family, path.join(tempHome(), "workspace"));
    const glucose = summariseMetrics(fresh.db, "爸爸").filter((s) => s.kind === "glucose");
    expect(glucose.map((s) => [s.label, s.count])).toEqual([["glucose (fasting)", 2]]);
    expect(glucose[0]!.latest).toMatchObject({ context: "fasting", note: "fingerstick", originalValue: 126 });
    expect(formatReading(glucose[0]!.latest)).toBe("6.99 mmol/L (126 mg/dL as measured)");
  });
});

describe("record_metric and query_metrics", () => {
  const context = (actor: Actor): ToolContext => ({
    workspace: "/nonexistent",
    restrictToWorkspace: true,
    builtinSkills: BUILTIN_SKILLS_DIR,
    sessionKey: "test:chat:alice",
    actor,
    archive,
  });
  const call = (name: string, args: unknown) =>
    runToolCall(metricTools, { id: "c1", name, arguments: JSON.stringify(args) }, context(owner));

  it("record_metric returns the unit hint as an error and stores nothing", async () => {
    const before = count("metrics");
    expect(await call("record_metric", { member: "dad", kind: "glucose", value: 110 })).toMatch(
      /^Error: record_metric failed: .*did you mean `--unit mg\/dL` \(6\.1 mmol\/L\)\?/,
    );
    expect(await call("record_metric", { member: "dad", kind: "temperature", value: 98.6 })).toMatch(
      /did you mean `--unit F` \(37 °C\)\?/,
    );
    expect(count("metrics")).toBe(before);
  });

  it("record_metric takes a meal context; query_metrics shows the preferred unit and the original", async () => {
    useHouseholdUnits(db, { glucose: "mg/dL" });
    const saved = { member: "dad", kind: "glucose", value: 6.1, context: "fasting", at: "2026-11-20T07:00" };
    expect(await call("record_metric", saved)).toBe(
      "Saved for 爸爸: glucose (fasting) 110 mg/dL (6.1 mmol/L as measured) at 2026-11-20 07:00; reading #1.",
    );
    const listed = await call("query_metrics", { member: "dad" });
    expect(listed).toContain("glucose (fasting) mg/dL: 1 reading");
    expect(listed).toContain("#1 glucose (fasting) 110 mg/dL (6.1 mmol/L as measured) at 2026-11-20 07:00");
  });
});
