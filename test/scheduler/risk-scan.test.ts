// The daily household risk scan: each kind of finding, silence for a healthy household, the target
// person's grants, its daily time (timezone, DST, quiet hours), no network, and delivery through the engine.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { scheduledChatRefusal } from "../../src/access/scheduled-chats.js";
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
import { medicationFields } from "../support/records.js";

const owner = hostOwner();
let now = new Date("2026-11-22T12:00:00Z");
let dir: string;
let db: Db;
let archive: FamilyArchive;

/** Config with Ann (every member, Berlin) and Carol (only Mum) as people; the target defaults to Ann. */
function configWith(heartbeat: Record<string, unknown> = {}): MedbotConfig {
  return configSchema.parse({
    channels: { telegram: { enabled: true, token: "123:abc", allowFrom: ["100", "200"] } },
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
    medicationFields({ name, route: null, timesOfDay: ["08:00"], ...fields }),
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
    const config = configWith();
    const engine = new SchedulerEngine({
      db,
      sources: [scanFor(config)],
      clock,
      logger: silentLogger(),
      recipientRefusal: (target) => scheduledChatRefusal(config, db, target),
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

describe("what was reported is remembered", () => {
  let clock: FakeClock;
  let engine: SchedulerEngine | undefined;
  let seen = 0;

  /** Starts the engine with the scan at `at` (ISO); the archive's clock is a little earlier. */
  function start(at: string, config = configWith()): void {
    clock = new FakeClock(at);
    engine = new SchedulerEngine({
      db,
      sources: [scanFor(config)],
      clock,
      logger: silentLogger(),
      recipientRefusal: (target) => scheduledChatRefusal(config, db, target),
    });
    engine.start();
  }

  function messages(): string[] {
    return (db.prepare("SELECT text FROM gateway_outbox ORDER BY id").all() as { text: string }[]).map(
      (row) => row.text,
    );
  }

  /** Runs the clock past the 08:00 (Berlin) scan of `day`; returns what was sent since the last call. */
  async function scanOn(day: string): Promise<string[]> {
    await clock.advance(`${day}T07:30:00Z`);
    now = new Date(`${day}T23:00:00Z`);
    const all = messages();
    const fresh = all.slice(seen);
    seen = all.length;
    return fresh;
  }

  function reported(): { member_id: string; kind: string; first_reported: string; last_reported: string }[] {
    return db
      .prepare(
        "SELECT member_id, kind, first_reported, last_reported FROM risk_findings ORDER BY member_id, kind",
      )
      .all() as { member_id: string; kind: string; first_reported: string; last_reported: string }[];
  }

  function dadAboveGoal(): void {
    goal("dad", "BP goal 130/80");
    for (const day of ["18", "19", "20"]) bp("dad", "150/95", `2026-11-${day}T07:30:00Z`);
  }

  beforeEach(() => {
    seen = 0;
    now = new Date("2026-11-21T12:00:00Z");
  });

  afterEach(() => engine?.stop());

  it("sends an unchanged finding once, not the next days, and again after seven days", async () => {
    dadAboveGoal();
    start("2026-11-22T06:00:00Z");
    expect(await scanOn("2026-11-22")).toEqual([expect.stringContaining("averaged 150/95")]);
    for (const day of ["23", "24", "25", "26", "27", "28"])
      expect(await scanOn(`2026-11-${day}`)).toEqual([]);
    const again = await scanOn("2026-11-29");
    expect(again).toHaveLength(1);
    expect(again[0]).toContain("Household risk scan, 2026-11-29:");
    expect(again[0]).toContain("averaged 150/95");
    expect(reported()).toEqual([
      {
        member_id: "dad",
        kind: "bp-above-goal",
        first_reported: "2026-11-22T07:00:00.000Z",
        last_reported: "2026-11-29T07:00:00.000Z",
      },
    ]);
    expect(await scanOn("2026-11-30")).toEqual([]);
  });

  it("sends a worse finding the next day, without the unchanged ones", async () => {
    dadAboveGoal();
    const metformin = medication("dad", "Metformin");
    dose("dad", metformin, "2026-11-20T07:00:00.000Z", "missed");
    dose("dad", metformin, "2026-11-21T07:00:00.000Z", "missed");
    medication("mum", "Warfarin");
    medication("mum", "Clarithromycin");
    cacheInteraction("warfarin", "clarithromycin", {
      kind: "interaction",
      severity: "Moderate",
      mechanisms: [],
      names: ["Warfarin", "Clarithromycin"],
    });
    start("2026-11-22T06:00:00Z");
    const first = await scanOn("2026-11-22");
    expect(first).toHaveLength(1);
    for (const text of ["averaged 150/95", "last 2 doses recorded were missed", "moderate interaction"])
      expect(first[0]).toContain(text);

    // A longer missed-dose streak.
    dose("dad", metformin, "2026-11-22T07:00:00.000Z", "missed");
    const streak = await scanOn("2026-11-23");
    expect(streak).toEqual([expect.stringContaining("Metformin: the last 3 doses recorded were missed")]);
    expect(streak[0]).not.toContain("averaged");
    expect(streak[0]).not.toContain("Mum");

    // A more severe interaction level.
    db.prepare("UPDATE drug_interaction_cache SET answer = ?").run(
      JSON.stringify({
        kind: "interaction",
        severity: "Major",
        mechanisms: [],
        names: ["Warfarin", "Clarithromycin"],
      }),
    );
    const severity = await scanOn("2026-11-24");
    expect(severity).toEqual([expect.stringContaining("DDInter lists a major interaction")]);
    expect(severity[0]).not.toContain("Dad");

    // A higher blood pressure bracket: 150/95 is 20 above the goal's 130, 175/105 brings the average to 156.
    bp("dad", "175/105", "2026-11-24T18:00:00Z");
    const pressure = await scanOn("2026-11-25");
    expect(pressure).toEqual([expect.stringContaining("averaged 156/98")]);
    expect(pressure[0]).not.toContain("Metformin");

    // A reading crossing 180/120 is a new, emergency finding (this one leaves the average's bracket as it was).
    bp("dad", "150/120", "2026-11-25T18:00:00Z");
    const emergency = await scanOn("2026-11-26");
    expect(emergency).toHaveLength(1);
    expect(emergency[0]).toContain("150/120 on 2026-11-25 19:00");
    expect(emergency[0]).not.toContain("averaged");
    expect(await scanOn("2026-11-27")).toEqual([]);
    // Another reading in the emergency range is new data, sent even though it is no higher.
    bp("dad", "150/120", "2026-11-27T18:00:00Z");
    expect(await scanOn("2026-11-28")).toEqual([expect.stringContaining("150/120 on 2026-11-27 19:00")]);
    expect(await scanOn("2026-11-29")).toEqual([]);
  });

  it("tracks two members' findings apart", async () => {
    dadAboveGoal();
    start("2026-11-22T06:00:00Z");
    expect(await scanOn("2026-11-22")).toEqual([expect.stringContaining("Dad:")]);
    // Mum's pressure is above the usual limit from the next day: the same kind, another member.
    for (const day of ["20", "21", "22"]) bp("mum", "150/95", `2026-11-${day}T18:00:00Z`);
    const next = await scanOn("2026-11-23");
    expect(next).toHaveLength(1);
    expect(next[0]).toContain("Mum:");
    expect(next[0]).not.toContain("Dad");
    expect(await scanOn("2026-11-24")).toEqual([]);
    expect(reported().map((row) => [row.member_id, row.kind, row.last_reported])).toEqual([
      ["dad", "bp-above-goal", "2026-11-22T07:00:00.000Z"],
      ["mum", "bp-above-goal", "2026-11-23T07:00:00.000Z"],
    ]);
  });

  it("does not count a scan missed during downtime as reported", async () => {
    dadAboveGoal();
    start("2026-11-22T06:00:00Z");
    engine!.stop();
    // Down from before 08:00 until after the grace window: the scan is recorded as missed, not sent.
    clock.jump("2026-11-22T09:30:00Z");
    engine!.start();
    expect(messages()).toEqual([]);
    expect(
      db.prepare("SELECT event_key, outcome FROM scheduled_deliveries WHERE source = 'risk-scan'").all(),
    ).toEqual([{ event_key: "scan:2026-11-22", outcome: "missed" }]);
    expect(reported()).toEqual([]);
    expect(await scanOn("2026-11-23")).toEqual([expect.stringContaining("averaged 150/95")]);
  });

  it("reports a finding that went away and came back as new, even at a lower level", async () => {
    dadAboveGoal();
    const metformin = medication("dad", "Metformin");
    dose("dad", metformin, "2026-11-20T07:00:00.000Z", "missed");
    dose("dad", metformin, "2026-11-21T07:00:00.000Z", "missed");
    start("2026-11-22T06:00:00Z");
    expect(await scanOn("2026-11-22")).toHaveLength(1);
    // Both go away: a dose taken, and good readings bring the average below the goal.
    dose("dad", metformin, "2026-11-22T07:00:00.000Z", "taken");
    for (let i = 0; i < 4; i++) bp("dad", "100/60", `2026-11-22T1${i}:00:00Z`);
    expect(await scanOn("2026-11-23")).toEqual([]);
    // Both come back: a new streak of two, an average above goal again (a lower bracket than before).
    dose("dad", metformin, "2026-11-23T07:00:00.000Z", "missed");
    expect(await scanOn("2026-11-24")).toEqual([]);
    dose("dad", metformin, "2026-11-24T07:00:00.000Z", "missed");
    for (let i = 0; i < 4; i++) bp("dad", "170/100", `2026-11-24T1${i}:00:00Z`);
    const back = await scanOn("2026-11-25");
    expect(back).toHaveLength(1);
    expect(back[0]).toContain("Metformin: the last 2 doses recorded were missed (latest 2026-11-24)");
    expect(back[0]).toContain("averaged 139/84");
    expect(reported().map((row) => row.first_reported)).toEqual([
      "2026-11-25T07:00:00.000Z",
      "2026-11-25T07:00:00.000Z",
    ]);
  });

  it("reports an interaction again when a medication was stopped and restarted", async () => {
    const warfarin = medication("mum", "Warfarin");
    medication("mum", "Aspirin");
    cacheInteraction("warfarin", "aspirin", {
      kind: "interaction",
      severity: "Major",
      mechanisms: [],
      names: ["Warfarin", "Aspirin"],
    });
    start("2026-11-22T06:00:00Z");
    expect(await scanOn("2026-11-22")).toHaveLength(1);
    expect(await scanOn("2026-11-23")).toEqual([]);
    const stopped = archive.revise(
      owner,
      "mum",
      "medications",
      warfarin,
      { state: "stopped" },
      { kind: "update" },
    ).entry.id;
    expect(await scanOn("2026-11-24")).toEqual([]);
    archive.revise(owner, "mum", "medications", stopped, { state: "active" }, { kind: "update" });
    expect(await scanOn("2026-11-25")).toEqual([expect.stringContaining("Aspirin and Warfarin")]);
  });
});
