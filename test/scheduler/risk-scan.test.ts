// The daily household risk scan: each kind of finding, silence for a healthy household, the target
// person's grants, its daily time (timezone, DST, quiet hours), no network, and delivery through the engine.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { type PairAnswer, pairKey } from "../../src/archive/drug-interactions.js";
import type { MedicationFields } from "../../src/archive/entries.js";
import { recordMetric } from "../../src/archive/metrics.js";
import { configSchema, type MedbotConfig } from "../../src/config/schema.js";
import { silentLogger } from "../../src/log.js";
import { SchedulerEngine } from "../../src/scheduler/engine.js";
import { RiskScan, riskScanSource } from "../../src/scheduler/risk-scan.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { FakeClock } from "../support/fake-clock.js";

const owner = hostOwner();
let now = new Date("2026-11-22T12:00:00Z");
let dir: string;
let db: Db;
let archive: FamilyArchive;

/** Config with Ann (every member, Berlin) and Carol (only Mum) as people; the target defaults to Ann. */
function configWith(heartbeat: Record<string, unknown> = {}): MedbotConfig {
  return configSchema.parse({
    people: {
      ann: { identities: ["telegram:100"], members: "*", timezone: "Europe/Berlin" },
      carol: { identities: ["telegram:200"], members: ["mum"], timezone: "Europe/Berlin" },
    },
    heartbeat: { target: "telegram:100", riskScan: { enabled: true, at: "08:00" }, ...heartbeat },
  });
}

function scanFor(config: MedbotConfig): RiskScan {
  const source = riskScanSource({ config, db });
  if (!(source instanceof RiskScan)) throw new Error(`no risk scan: ${JSON.stringify(source)}`);
  return source;
}

function bp(member: string, value: string, at: string): void {
  recordMetric(archive, owner, member, { kind: "bp", value, at });
}

function medication(member: string, name: string, fields: Partial<MedicationFields> = {}): number {
  return archive.add(
    owner,
    member,
    "medications",
    {
      name,
      dose: null,
      route: null,
      frequency: null,
      timesOfDay: ["08:00"],
      timezone: null,
      startDate: "2026-01-01",
      stopDate: null,
      reason: null,
      state: "active",
      ...fields,
    },
    "confirmed",
  ).entry.id;
}

function goal(member: string, text: string): void {
  archive.add(
    owner,
    member,
    "facts",
    { category: "monitoring_goal", text, details: null, since: null },
    "confirmed",
  );
}

function cacheInteraction(a: string, b: string, answer: PairAnswer): void {
  db.prepare("INSERT INTO drug_interaction_cache (pair_key, answer, fetched_at) VALUES (?, ?, ?)").run(
    pairKey(a, b),
    JSON.stringify(answer),
    "2026-11-01T09:00:00.000Z",
  );
}

function dose(member: string, medicationId: number, scheduledAt: string, outcome: string): void {
  archive.change(owner, { action: "dose.record", memberId: member }, (seq, createdAt) =>
    db
      .prepare(
        `INSERT INTO medication_doses (member_id, medication_id, scheduled_at, outcome, reported_by, channel,
           created_at, audit_seq) VALUES (?, ?, ?, ?, 'owner', 'cli', ?, ?)`,
      )
      .run(member, medicationId, scheduledAt, outcome, createdAt, seq),
  );
}

/** A household where nothing needs attention: normal pressure, no known interaction, doses taken. */
function healthyHousehold(): void {
  for (const day of ["18", "19", "20", "21"]) bp("dad", "124/78", `2026-11-${day}T07:30:00Z`);
  goal("dad", "BP goal 130/80");
  const metformin = medication("dad", "Metformin");
  medication("dad", "Atorvastatin");
  cacheInteraction("metformin", "atorvastatin", { kind: "none", names: ["Metformin", "Atorvastatin"] });
  dose("dad", metformin, "2026-11-20T07:00:00.000Z", "missed");
  dose("dad", metformin, "2026-11-21T07:00:00.000Z", "taken");
  bp("mum", "128/80", "2026-11-21T07:30:00Z");
}

beforeEach(() => {
  now = new Date("2026-11-22T12:00:00Z");
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-risk-"));
  db = openDatabase(path.join(dir, "medbot.db"));
  archive = new FamilyArchive(db, { clock: () => now });
  archive.addMember(owner, { id: "dad", displayName: "Dad", timezone: "Europe/Berlin" });
  archive.addMember(owner, { id: "mum", displayName: "Mum", timezone: "Europe/Berlin" });
});

afterEach(() => {
  vi.unstubAllGlobals();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("findings", () => {
  it("says nothing for a healthy household: no finding, no event", () => {
    healthyHousehold();
    const scan = scanFor(configWith());
    expect(scan.findings(now)).toEqual([]);
    expect(scan.due(new Date("2026-11-22T00:00:00Z"), now)).toEqual([]);
  });

  it("reports an average above the member's recorded goal, and measures others against 135/85", () => {
    goal("dad", "BP goal 130/80");
    for (const day of ["18", "19", "20"]) {
      bp("dad", "133/82", `2026-11-${day}T07:30:00Z`);
      bp("mum", "133/82", `2026-11-${day}T07:30:00Z`);
    }
    const findings = scanFor(configWith()).findings(now);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ member: { id: "dad" }, kind: "bp-above-goal" });
    expect(findings[0]!.seen).toContain("averaged 133/82 over the last 14 days (3 readings)");
    expect(findings[0]!.seen).toContain("130/80");
  });

  it("reads a goal worded 'blood pressure below 140/90', and needs 3 readings within 14 days", () => {
    goal("mum", "blood pressure below 140/90");
    bp("mum", "145/88", "2026-11-01T07:30:00Z");
    bp("mum", "145/88", "2026-11-20T07:30:00Z");
    bp("mum", "145/88", "2026-11-21T07:30:00Z");
    const scan = scanFor(configWith());
    expect(scan.findings(now)).toEqual([]);
    bp("mum", "141/86", "2026-11-22T07:30:00Z");
    expect(scan.findings(now).map((f) => f.kind)).toEqual(["bp-above-goal"]);
  });

  it("reports a single reading of 180/120 or more, first, even when the average is fine", () => {
    for (const day of ["15", "16", "17", "18"]) bp("mum", "118/76", `2026-11-${day}T07:30:00Z`);
    bp("mum", "182/100", "2026-11-21T18:45:00Z");
    goal("dad", "BP goal 130/80");
    for (const day of ["18", "19", "20"]) bp("dad", "140/85", `2026-11-${day}T07:30:00Z`);
    const findings = scanFor(configWith()).findings(now);
    expect(findings.map((f) => [f.member.id, f.kind])).toEqual([
      ["mum", "bp-emergency"],
      ["dad", "bp-above-goal"],
    ]);
    expect(findings[0]!.seen).toContain("182/100 on 2026-11-21 19:45");
    expect(findings[0]!.nextStep).toMatch(/emergency services/);
  });

  it("reports a major or moderate interaction between two active medications from the local cache only", () => {
    const fetch = vi.fn(() => Promise.reject(new Error("the scan must not go online")));
    vi.stubGlobal("fetch", fetch);
    medication("dad", "Warfarin");
    medication("dad", "Aspirin");
    medication("dad", "Omeprazole");
    medication("dad", "Ibuprofen", { state: "stopped", stopDate: "2026-10-01" });
    // A course whose stop date has passed counts as finished even if nobody marked it stopped.
    medication("dad", "Clarithromycin", { stopDate: "2026-11-10" });
    cacheInteraction("warfarin", "clarithromycin", {
      kind: "interaction",
      severity: "Moderate",
      mechanisms: [],
      names: ["Warfarin", "Clarithromycin"],
    });
    cacheInteraction("warfarin", "aspirin", {
      kind: "interaction",
      severity: "Major",
      mechanisms: ["Synergy"],
      names: ["Warfarin", "Aspirin"],
    });
    cacheInteraction("omeprazole", "aspirin", {
      kind: "interaction",
      severity: "Minor",
      mechanisms: [],
      names: ["Omeprazole", "Aspirin"],
    });
    cacheInteraction("warfarin", "ibuprofen", {
      kind: "interaction",
      severity: "Major",
      mechanisms: [],
      names: ["Warfarin", "Ibuprofen"],
    });
    const findings = scanFor(configWith()).findings(now);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ member: { id: "dad" }, kind: "interaction" });
    expect(findings[0]!.seen).toMatch(
      /Aspirin and Warfarin are both active; DDInter lists a major interaction/,
    );
    expect(findings[0]!.seen).toContain("checked 2026-11-01");
    expect(fetch).not.toHaveBeenCalled();
  });

  it("reports the last two or more doses missed in a row, not a missed dose followed by a taken one", () => {
    const metformin = medication("dad", "Metformin");
    dose("dad", metformin, "2026-11-20T07:00:00.000Z", "taken");
    dose("dad", metformin, "2026-11-21T07:00:00.000Z", "missed");
    const scan = scanFor(configWith());
    expect(scan.findings(now)).toEqual([]);
    dose("dad", metformin, "2026-11-22T07:00:00.000Z", "missed");
    const findings = scan.findings(now);
    expect(findings.map((f) => f.kind)).toEqual(["missed-doses"]);
    expect(findings[0]!.seen).toContain(
      "Metformin: the last 2 doses recorded were missed (latest 2026-11-22)",
    );
    dose("dad", metformin, "2026-11-22T07:00:00.000Z", "taken");
    expect(scan.findings(now)).toEqual([]);
  });

  it("covers only the members the target's person is granted", () => {
    for (const member of ["dad", "mum"]) bp(member, "190/125", "2026-11-21T07:30:00Z");
    const caregiver = scanFor(configWith({ target: "telegram:200" }));
    expect(caregiver.findings(now).map((f) => f.member.id)).toEqual(["mum"]);
    const event = caregiver.due(new Date("2026-11-22T06:00:00Z"), new Date("2026-11-22T08:00:00Z"))[0]!;
    expect(event.text).toContain("Mum:");
    expect(event.text).not.toContain("Dad");
    expect(
      scanFor(configWith())
        .findings(now)
        .map((f) => f.member.id),
    ).toEqual(["dad", "mum"]);
  });
});

describe("the daily scan as a scheduler source", () => {
  it("is off unless switched on, and refuses a target that is no configured person", () => {
    expect(riskScanSource({ config: configWith({ riskScan: { enabled: false } }), db })).toBeUndefined();
    const stranger = riskScanSource({ config: configWith({ target: "telegram:999" }), db });
    expect(stranger).toEqual({ problem: expect.stringMatching(/telegram:999 is no person's identity/) });
    const none = riskScanSource({ config: configWith({ target: undefined }), db });
    expect(none).toEqual({ problem: expect.stringMatching(/heartbeat.target is not set/) });
  });

  it("falls due at riskScan.at in the target person's timezone, across a DST change", () => {
    const scan = scanFor(configWith());
    expect(scan.next(new Date("2026-03-28T07:00:00Z"))).toEqual(new Date("2026-03-29T06:00:00Z"));
    expect(scan.next(new Date("2026-03-27T12:00:00Z"))).toEqual(new Date("2026-03-28T07:00:00Z"));
    expect(scan.next(new Date("2026-10-24T12:00:00Z"))).toEqual(new Date("2026-10-25T07:00:00Z"));
  });

  it("moves a scan set inside quiet hours to their end", () => {
    const scan = scanFor(configWith({ riskScan: { enabled: true, at: "06:00" } }));
    expect(scan.next(new Date("2026-11-22T12:00:00Z"))).toEqual(new Date("2026-11-23T06:00:00Z"));
    const late = scanFor(configWith({ riskScan: { enabled: true, at: "23:30" } }));
    expect(late.next(new Date("2026-11-22T12:00:00Z"))).toEqual(new Date("2026-11-23T06:00:00Z"));
  });

  it("sends one message to the target chat listing member, finding and next step; after downtime only the latest", () => {
    goal("dad", "BP goal 130/80");
    for (const day of ["18", "19", "20"]) bp("dad", "150/95", `2026-11-${day}T07:30:00Z`);
    const events = scanFor(configWith()).due(new Date("2026-11-19T12:00:00Z"), now);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      key: "scan:2026-11-22",
      dueAt: new Date("2026-11-22T07:00:00Z"),
      target: { channel: "telegram", chatId: "100", account: "" },
      graceMs: 60 * 60_000,
    });
    expect(events[0]!.text).toBe(
      [
        "Household risk scan, 2026-11-22:",
        "",
        "Dad:",
        "- Blood pressure averaged 150/95 over the last 14 days (3 readings), above the goal of 130/80. Next step: keep measuring and book a call with the doctor this week about the readings.",
      ].join("\n"),
    );
  });

  it("is delivered by the engine as one outbox row to the target at 08:00, and nothing on a quiet day", async () => {
    goal("dad", "BP goal 130/80");
    for (const day of ["18", "19", "20"]) bp("dad", "150/95", `2026-11-${day}T07:30:00Z`);
    const clock = new FakeClock("2026-11-22T06:00:00Z");
    const engine = new SchedulerEngine({
      db,
      sources: [scanFor(configWith())],
      clock,
      logger: silentLogger(),
    });
    engine.start();
    await clock.advance("2026-11-22T07:30:00Z");
    const outbox = () =>
      db.prepare("SELECT channel, chat_id AS chatId, text FROM gateway_outbox").all() as {
        channel: string;
        chatId: string;
        text: string;
      }[];
    expect(outbox()).toHaveLength(1);
    expect(outbox()[0]).toMatchObject({ channel: "telegram", chatId: "100" });
    expect(outbox()[0]!.text).toContain("Dad:");
    db.prepare("UPDATE metrics SET removed_at = ?").run(now.toISOString());
    await clock.advance("2026-11-23T09:00:00Z");
    expect(outbox()).toHaveLength(1);
    engine.stop();
  });
});
