// Health readings: typed kinds with units and plausible ranges, conversions, custom kinds, measurement
// times, queries (range, latest, min/max/mean, trend), grants, and the record_metric / query_metrics tools.
import { beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { BUILTIN_SKILLS_DIR } from "../../src/agent/skills.js";
import { metricTools } from "../../src/agent/tools/metrics.js";
import { runToolCall, type ToolContext, toolDefinitions } from "../../src/agent/tools/tool.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { MemberLookupError } from "../../src/archive/members.js";
import {
  latestReadings,
  type MetricInput,
  metricSeries,
  recordMetric,
  removeMetric,
  summariseMetrics,
} from "../../src/archive/metrics.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { type Db, openDatabase } from "../../src/storage/db.js";

const NOW = new Date("2026-11-22T12:00:00Z");
const owner = hostOwner();
const caregiver: Actor = { person: "ann", channel: "telegram", grants: ["妈妈"] };
let db: Db;
let archive: FamilyArchive;

beforeEach(() => {
  db = openDatabase(":memory:");
  archive = new FamilyArchive(db, { clock: () => NOW });
  archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad"], timezone: "Asia/Shanghai" });
  archive.addMember(owner, { displayName: "妈妈", aliases: ["Mum"], timezone: "UTC" });
});

const record = (input: MetricInput, who = "爸爸", actor: Actor = owner) =>
  recordMetric(archive, actor, who, input).reading;
const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

/** Expects the input to be refused with `message` and to leave no reading, kind or audit entry behind. */
function expectRefused(input: MetricInput, message: RegExp, who = "爸爸", actor: Actor = owner): void {
  const before = [count("metrics"), count("metric_kinds"), count("audit_log")];
  expect(() => recordMetric(archive, actor, who, input)).toThrow(message);
  expect([count("metrics"), count("metric_kinds"), count("audit_log")]).toEqual(before);
}

describe("plausibility", () => {
  it.each<[MetricInput, RegExp]>([
    [{ kind: "bp", value: "350/90" }, /Systolic blood pressure 350 mmHg .*50–300 mmHg/],
    [{ kind: "bp", value: "140/10" }, /Diastolic blood pressure 10 mmHg .*20–200 mmHg/],
    [{ kind: "bp", value: "140/90/300" }, /Pulse 300 bpm .*20–250 bpm/],
    [{ kind: "glucose", value: 0.2 }, /Glucose 0\.2 mmol\/L is not plausible.*0\.5–60 mmol\/L/],
    [{ kind: "glucose", value: "2000", unit: "mg/dL" }, /Glucose 2000 mg\/dL \(= 111\.01 mmol\/L\).*0\.5–60/],
    [{ kind: "weight", value: 900, unit: "lb" }, /Weight 900 lb \(= 408\.23 kg\).*0\.3–400 kg/],
    [{ kind: "temp", value: 50 }, /Temperature 50 °C .*25–45 °C/],
    [{ kind: "hr", value: 5 }, /Heart rate 5 bpm .*20–250 bpm/],
    [{ kind: "spo2", value: 101 }, /SpO2 101 % .*50–100 %/],
    [{ kind: "weight", value: "heavy" }, /"heavy" is not a number/],
  ])("refuses %o and stores nothing", (input, message) => {
    expectRefused(input, message);
  });

  it("names the accepted units for an unknown unit of a known kind", () => {
    expectRefused(
      { kind: "weight", value: 12, unit: "stone" },
      /"stone" is not a unit for weight\. Accepted: kg, lb, g\./,
    );
    expectRefused({ kind: "glucose", value: 6, unit: "mg" }, /Accepted: mmol\/L, mg\/dL/);
  });

  it("refuses a unit in the value that contradicts the unit argument", () => {
    expectRefused({ kind: "weight", value: "150 lb", unit: "kg" }, /says "lb" but the unit given is "kg"/);
  });
});

describe("unit conversion to the kind's canonical unit", () => {
  it.each<[MetricInput, number, string]>([
    [{ kind: "glucose", value: 110, unit: "mg/dL" }, 6.11, "mmol/L"],
    [{ kind: "sugar", value: "126", unit: "mg/dl" }, 6.99, "mmol/L"],
    [{ kind: "glucose", value: "6.1", unit: "mmol/l" }, 6.1, "mmol/L"],
    [{ kind: "weight", value: 150, unit: "lb" }, 68.04, "kg"],
    [{ kind: "weight", value: "200 lbs" }, 90.72, "kg"],
    [{ kind: "weight", value: "3,5", unit: "kg" }, 3.5, "kg"],
    [{ kind: "temperature", value: 98.6, unit: "°F" }, 37, "°C"],
    [{ kind: "temp", value: "101.3f" }, 38.5, "°C"],
    [{ kind: "temp", value: 38.2, unit: "celsius" }, 38.2, "°C"],
    [{ kind: "temp", value: 37.5, unit: "°c" }, 37.5, "°C"],
    [{ kind: "pulse", value: 72, unit: "bpm" }, 72, "bpm"],
    [{ kind: "o2", value: "97 %" }, 97, "%"],
  ])("stores %o as %d %s", (input, value, unit) => {
    expect(record(input)).toMatchObject({ value, unit, value2: null });
  });
});

describe("blood pressure", () => {
  it("reads systolic/diastolic with an optional pulse", () => {
    expect(record({ kind: "bp", value: "130/85" })).toMatchObject({ value: 130, value2: 85, pulse: null });
    expect(record({ kind: "blood pressure", value: "130/85/72" })).toMatchObject({ value2: 85, pulse: 72 });
    expect(record({ kind: "BP", value: "128/82, pulse 66" })).toMatchObject({ value: 128, pulse: 66 });
    expect(record({ kind: "bp", value: "16/11", unit: "kPa" })).toMatchObject({ value: 120, value2: 83 });
  });

  it("refuses a systolic not above the diastolic, and a single number", () => {
    expectRefused({ kind: "bp", value: "85/130" }, /85\/130 mmHg is not plausible: the systolic .* higher/);
    expectRefused({ kind: "bp", value: "120/120" }, /systolic \(first\) number must be higher/);
    expectRefused({ kind: "bp", value: 130 }, /must be systolic\/diastolic, e\.g\. 130\/85/);
  });
});

describe("custom kinds", () => {
  it("are created on first use with a unit, then keep it, convert within its family, and refuse others", () => {
    expectRefused(
      { kind: "peak_flow", value: 350 },
      /"peak_flow" is not a kind of reading yet.*give its unit/,
    );
    expect(record({ kind: "peak flow", value: 350, unit: "L/min" })).toMatchObject({
      kind: "peak_flow",
      value: 350,
      unit: "L/min",
    });
    expect(db.prepare("SELECT kind, label, unit FROM metric_kinds").all()).toEqual([
      { kind: "peak_flow", label: "peak flow", unit: "L/min" },
    ]);
    expect(record({ kind: "peak_flow", value: 410 })).toMatchObject({ value: 410, unit: "L/min" });
    expect(record({ kind: "Peak-Flow", value: "380000 ml/min" })).toMatchObject({
      value: 380,
      unit: "L/min",
    });
    expectRefused(
      { kind: "peak_flow", value: 3, unit: "kg" },
      /"kg" is not a unit for peak flow\. Accepted: L\/min, ml\/min/,
    );
    expect(summariseMetrics(db, "爸爸")).toMatchObject([{ kind: "peak_flow", label: "peak flow", count: 3 }]);
    expectRefused({ kind: "a b/c", value: 1, unit: "x" }, /cannot name a kind of reading/);
  });
});

describe("measurement time", () => {
  it("stores ISO UTC, reading a time without zone in the member's zone", () => {
    expect(record({ kind: "hr", value: 70 }).measuredAt).toBe(NOW.toISOString());
    expect(record({ kind: "hr", value: 70, at: "2026-11-22 08:00" }).measuredAt).toBe(
      "2026-11-22T00:00:00.000Z",
    );
    expect(record({ kind: "hr", value: 70, at: "2026-11-20" }).measuredAt).toBe("2026-11-19T16:00:00.000Z");
    expect(record({ kind: "hr", value: 70, at: "2026-11-22T08:00:00+02:00" }).measuredAt).toBe(
      "2026-11-22T06:00:00.000Z",
    );
    expect(record({ kind: "hr", value: 70, at: "2026-06-01T08:00" }, "妈妈").measuredAt).toBe(
      "2026-06-01T08:00:00.000Z",
    );
    expect(record({ kind: "hr", value: 70, at: "2026-11-22T12:04Z" }).measuredAt).toBe(
      "2026-11-22T12:04:00.000Z",
    );
  });

  it("refuses a time in the future beyond a few minutes, and dates that do not exist", () => {
    expectRefused({ kind: "hr", value: 70, at: "2026-11-22T12:10Z" }, /is in the future/);
    expectRefused({ kind: "hr", value: 70, at: "2026-11-23" }, /"2026-11-23" is in the future/);
    expectRefused({ kind: "hr", value: 70, at: "2026-02-30" }, /must be a real date/);
    expectRefused({ kind: "hr", value: 70, at: "yesterday" }, /must be a real date/);
  });
});

describe("queries", () => {
  /** Glucose once a day at 07:00 UTC from 2026-11-01, one value per day. */
  const glucoseDays = (values: number[], who = "妈妈") =>
    values.map((value, day) =>
      record({ kind: "glucose", value, at: `2026-11-${String(day + 1).padStart(2, "0")}T07:00Z` }, who),
    );

  it("gives the time-ordered series in a range, a date meaning its whole day, removals excluded", () => {
    const [, second, third] = glucoseDays([5, 6, 7, 8, 9]);
    expect(metricSeries(db, "妈妈", "sugar").map((r) => r.value)).toEqual([5, 6, 7, 8, 9]);
    const range = { since: "2026-11-02", until: "2026-11-04" };
    expect(metricSeries(db, "妈妈", "glucose", range).map((r) => r.value)).toEqual([6, 7, 8]);
    removeMetric(archive, owner, "Mum", third!.id, "typed the wrong number");
    expect(metricSeries(db, "妈妈", "glucose", range).map((r) => r.value)).toEqual([6, 8]);
    expect(latestReadings(db, "妈妈", { limit: 2 }).map((r) => r.value)).toEqual([9, 8]);
    expect(latestReadings(db, "妈妈", { kind: "glucose", until: "2026-11-02" })[0]?.id).toBe(second!.id);
    expect(() => metricSeries(db, "妈妈", "cholesterol")).toThrow(/"cholesterol" is not a kind of reading/);
    expect(() => metricSeries(db, "妈妈", "glucose", { since: "soon" })).toThrow(
      /since "soon" must be a real date/,
    );
  });

  it("summarises count, latest, min/max/mean and a rising trend", () => {
    glucoseDays([5, 6, 7, 8, 9]);
    const [glucose] = summariseMetrics(db, "妈妈");
    expect(glucose).toMatchObject({
      kind: "glucose",
      label: "glucose",
      unit: "mmol/L",
      count: 5,
      from: "2026-11-01T07:00:00.000Z",
      to: "2026-11-05T07:00:00.000Z",
      min: 5,
      max: 9,
      mean: 7,
      min2: null,
      trend: "rising",
    });
    expect(glucose?.latest.value).toBe(9);
  });

  it.each<[number[], string]>([
    [[9, 8, 7, 6, 5], "falling"],
    [[5, 5.2, 4.9, 5.1, 5], "steady"],
    [[5, 9], "too few readings"],
  ])("calls %o %s", (values, trend) => {
    glucoseDays(values);
    expect(summariseMetrics(db, "妈妈")[0]?.trend).toBe(trend);
  });

  it("summarises both blood pressure numbers", () => {
    record({ kind: "bp", value: "120/80", at: "2026-11-01T07:00Z" }, "妈妈");
    record({ kind: "bp", value: "130/90", at: "2026-11-02T07:00Z" }, "妈妈");
    record({ kind: "bp", value: "140/82", at: "2026-11-03T07:00Z" }, "妈妈");
    record({ kind: "weight", value: 60, at: "2026-11-03T07:00Z" }, "妈妈");
    const [bp, weight] = summariseMetrics(db, "妈妈");
    expect(bp).toMatchObject({
      min: 120,
      max: 140,
      mean: 130,
      min2: 80,
      max2: 90,
      mean2: 84,
      trend: "rising",
    });
    expect(weight).toMatchObject({ kind: "weight", count: 1, trend: "too few readings" });
    expect(summariseMetrics(db, "妈妈", { since: "2026-11-03" })).toMatchObject([{ count: 1 }, { count: 1 }]);
  });
});

describe("the audit trail", () => {
  it("records and removals are audited without the value", () => {
    const reading = record({ kind: "bp", value: "142/90/71", note: "after stairs" });
    expect(() => removeMetric(archive, owner, "爸爸", reading.id, " ")).toThrow(/needs a reason/);
    removeMetric(archive, owner, "爸爸", reading.id, "cuff too loose");
    expect(() => removeMetric(archive, owner, "爸爸", reading.id, "again")).toThrow(/already removed/);
    expect(() => removeMetric(archive, owner, "妈妈", reading.id, "wrong")).toThrow(
      /no reading #\d+ in 妈妈's record/,
    );
    const entries = listAudit(db, { memberId: "爸爸" }).slice(-2);
    expect(entries).toMatchObject([
      { action: "metric.record", entity: "metrics", actor: "owner", note: null },
      { action: "metric.remove", entity: "metrics", entityId: String(reading.id), note: null },
    ]);
    expect(JSON.stringify(entries)).not.toMatch(/142|stairs|cuff|blood/);
  });
});

describe("grants", () => {
  it("lets a caregiver granted only 妈妈 record and query for her but not for 爸爸", () => {
    expect(record({ kind: "hr", value: 64 }, "Mum", caregiver).memberId).toBe("妈妈");
    expectRefused(
      { kind: "hr", value: 64 },
      /No family member called "爸爸"\. Members: 妈妈/,
      "爸爸",
      caregiver,
    );
    expect(() => removeMetric(archive, caregiver, "Dad", 1, "x")).toThrow(MemberLookupError);
  });
});

describe("record_metric and query_metrics tools", () => {
  const context = (actor: Actor): ToolContext => ({
    workspace: "/nonexistent",
    restrictToWorkspace: true,
    builtinSkills: BUILTIN_SKILLS_DIR,
    sessionKey: "test:chat:alice",
    actor,
    archive,
  });
  const call = (name: string, args: unknown, actor: Actor = owner) =>
    runToolCall(metricTools, { id: "c1", name, arguments: JSON.stringify(args) }, context(actor));

  it("fit the budget of 300 tokens for both definitions", () => {
    expect(JSON.stringify(toolDefinitions(metricTools)).length).toBeLessThanOrEqual(1200);
  });

  it("record_metric names the member and the stored value, unit and time", async () => {
    const bp = { member: "dad", kind: "bp", value: "142/90/71", at: "2026-11-22T08:00" };
    expect(await call("record_metric", bp)).toBe(
      "Saved for 爸爸: blood pressure 142/90 mmHg, pulse 71 at 2026-11-22 08:00; reading #1.",
    );
    const glucose = { member: "Mum", kind: "glucose", value: 110, unit: "mg/dL", at: "2026-11-22T07:30Z" };
    expect(await call("record_metric", glucose)).toBe(
      "Saved for 妈妈: glucose 6.11 mmol/L (110 mg/dL as measured) at 2026-11-22 07:30; reading #2.",
    );
  });

  it("answers bad arguments, implausible values and unknown members with errors, storing nothing", async () => {
    expect(await call("record_metric", { member: "dad", kind: "bp", value: { sys: 1 } })).toMatch(
      /^Error: invalid arguments for record_metric:[\s\S]*value/,
    );
    expect(await call("record_metric", { member: "dad", kind: "bp", value: "400/90" })).toMatch(
      /^Error: record_metric failed: Systolic blood pressure 400 mmHg is not plausible/,
    );
    expect(await call("record_metric", { member: "grandpa", kind: "hr", value: 70 })).toMatch(
      /No family member called "grandpa"\. Members: 爸爸 \(id 爸爸\), 妈妈 \(id 妈妈\)/,
    );
    expect(await call("query_metrics", { member: "dad", limit: 0 })).toMatch(/^Error: invalid arguments/);
    expect(await call("query_metrics", { member: "dad" }, caregiver)).toMatch(
      /No family member called "dad"/,
    );
    expect(count("metrics")).toBe(0);
  });

  it("query_metrics gives a summary per kind and the newest readings with ids", async () => {
    for (const [day, value] of [
      ["01", "130/85"],
      ["02", "135/88"],
      ["03", "142/90/71"],
    ]) {
      record({ kind: "bp", value: value!, at: `2026-11-${day}T08:00` });
    }
    record({ kind: "weight", value: 70, at: "2026-11-02T08:00", note: "after breakfast" });
    const text = await call("query_metrics", { member: "爸爸", limit: 2 });
    expect(text).toBe(
      [
        "爸爸 (times Asia/Shanghai):",
        "blood pressure mmHg: 3 readings 2026-11-01..2026-11-03; latest 142/90 (2026-11-03 08:00); systolic min 130, max 142, mean 135.67; diastolic min 85, max 90, mean 87.67; trend rising",
        "weight kg: 1 reading 2026-11-02..2026-11-02; latest 70 (2026-11-02 08:00); min 70, max 70, mean 70; trend too few readings",
        "Newest:",
        "#3 blood pressure 142/90 mmHg, pulse 71 at 2026-11-03 08:00",
        "#4 weight 70 kg at 2026-11-02 08:00 (after breakfast)",
      ].join("\n"),
    );
    expect(await call("query_metrics", { member: "dad", kind: "weight", since: "2026-11-03" })).toBe(
      "No weight readings for 爸爸 in that range.",
    );
  });
});
