// The scheduler engine on a real SQLite file and a FakeClock: one timer, grace windows, no bursts after
// downtime, nothing sent twice, and a scheduled message reaching a chat through the gateway.
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PairingStore } from "../../src/access/pairing.js";
import { scheduledChatRefusal } from "../../src/access/scheduled-chats.js";
import { listAudit } from "../../src/audit/audit-log.js";
import type { ChatTarget } from "../../src/config/chat-target.js";
import { configSchema } from "../../src/config/schema.js";
import { silentLogger } from "../../src/log.js";
import { systemClock } from "../../src/scheduler/clock.js";
import { SchedulerEngine } from "../../src/scheduler/engine.js";
import { schedulesChanged } from "../../src/schedules/changes.js";
import { CronJobStore, cronJobSource } from "../../src/schedules/cron-jobs.js";
import type { DueEvent, DueSource } from "../../src/schedules/types.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { ScriptedAgent, shutDown, startGateway, tempDatabaseFile } from "../gateway/harness.js";
import { FakeClock } from "../support/fake-clock.js";
import { MemoryChannel } from "../support/memory-channel.js";

const OWNER = { person: "ann", channel: "telegram", grants: "*" as const };
const CHAT = { channel: "telegram" as const, chatId: "42", account: "" };
const ZONE = "Europe/Berlin";
/** Ann's chat (telegram:42) lets her in by pairing, so a revocation while the engine runs takes effect at once. */
const HOUSEHOLD = configSchema.parse({
  channels: { telegram: { enabled: true, token: "123:abc", dmPolicy: "pairing" } },
  people: { ann: { identities: ["telegram:42"], members: "*" } },
});
const HOUR = 3_600_000;

let file: string;
let db: Db;
let clock: FakeClock;
let engines: SchedulerEngine[];
let pairing: PairingStore;

beforeEach(() => {
  file = tempDatabaseFile();
  db = openDatabase(file);
  pairing = new PairingStore(db);
  pairing.approve(pairing.codeFor("telegram", "42")!);
  clock = new FakeClock("2026-03-02T06:00:00Z"); // 07:00 in Berlin
  engines = [];
});

afterEach(() => {
  for (const engine of engines) engine.stop();
  db.close();
});

function engine(
  sources: DueSource[] = [cronJobSource(db, () => clock.now())],
  logger = silentLogger(),
): SchedulerEngine {
  const recipientRefusal = (target: ChatTarget) => scheduledChatRefusal(HOUSEHOLD, db, target);
  const made = new SchedulerEngine({ db, sources, clock, logger, recipientRefusal });
  engines.push(made);
  return made;
}

function store(): CronJobStore {
  return new CronJobStore(db, () => clock.now());
}

function addDaily(message: string, cron = "0 8 * * *"): number {
  return store().add(OWNER, CHAT, message, { cron }, { timezone: ZONE, config: HOUSEHOLD }).id;
}

function outbox(): string[] {
  return (db.prepare("SELECT text FROM gateway_outbox ORDER BY id").all() as { text: string }[]).map(
    (r) => r.text,
  );
}

function deliveries(): Array<{
  event_key: string;
  due_at: string;
  outcome: string;
  outbox_id: number | null;
}> {
  return db
    .prepare("SELECT event_key, due_at, outcome, outbox_id FROM scheduled_deliveries ORDER BY due_at, id")
    .all() as Array<{ event_key: string; due_at: string; outcome: string; outbox_id: number | null }>;
}

/** A source with fixed events, for ordering across sources. */
function fixedSource(name: string, times: string[], text: string): DueSource {
  const events: DueEvent[] = times.map((t) => ({
    key: `${name}:1`,
    dueAt: new Date(t),
    target: CHAT,
    text,
    graceMs: HOUR,
  }));
  return {
    name,
    next: (after) => events.find((e) => e.dueAt > after)?.dueAt,
    due: (from, to) => events.filter((e) => e.dueAt > from && e.dueAt <= to),
  };
}

describe("SchedulerEngine timer", () => {
  it("arms exactly one timer, for the earliest next due time across sources", async () => {
    const a = fixedSource("a", ["2026-03-02T09:00:00Z"], "from a");
    const b = fixedSource("b", ["2026-03-02T08:30:00Z"], "from b");
    const running = engine([a, b]);
    running.start();
    expect(clock.armed()).toEqual([new Date("2026-03-02T08:30:00Z")]);
    await clock.advance("2026-03-02T08:30:00Z");
    expect(outbox()).toEqual(["from b"]);
    expect(clock.armed()).toEqual([new Date("2026-03-02T09:00:00Z")]);
    await clock.advance("2026-03-02T09:00:00Z");
    expect(outbox()).toEqual(["from b", "from a"]);
    expect(clock.armed()).toEqual([]);
  });

  it("re-arms when a job is added in this process or by another process", async () => {
    const running = engine();
    running.start();
    expect(clock.armed()).toEqual([]);
    addDaily("Blood pressure reading");
    schedulesChanged(db);
    expect(clock.armed()).toEqual([new Date("2026-03-02T07:00:00Z")]);

    expect(running.reloadIfChanged()).toBe(false);
    const cli = openDatabase(file);
    new CronJobStore(cli, () => clock.now()).add(
      OWNER,
      CHAT,
      "Refill",
      { every: "30m" },
      { timezone: ZONE, config: HOUSEHOLD },
    );
    cli.close();
    expect(running.reloadIfChanged()).toBe(true);
    expect(clock.armed()).toEqual([new Date("2026-03-02T06:30:00Z")]);
    await clock.advance("2026-03-02T07:00:00Z");
    expect(outbox()).toEqual(["Refill", "Blood pressure reading", "Refill"]);
    expect(clock.armed()).toHaveLength(1);
  });

  it("sends a one-off job once and then marks it done", async () => {
    store().add(
      OWNER,
      CHAT,
      "Fasting blood test at 9",
      { at: "2026-03-02T08:00" },
      { timezone: ZONE, config: HOUSEHOLD },
    );
    engine().start();
    await clock.advance("2026-03-03T00:00:00Z");
    expect(outbox()).toEqual(["Fasting blood test at 9"]);
    expect(listAudit(db).filter((entry) => entry.action === "scheduled.send")).toMatchObject([
      { actor: "medbot", channel: "scheduler", entity: "cron", note: expect.stringMatching(/^telegram:/) },
    ]);
    expect(db.prepare("SELECT done_at FROM cron_jobs").get()).toEqual({
      done_at: "2026-03-02T07:00:00.000Z",
    });
    expect(clock.armed()).toEqual([]);
  });

  it("a source seen for the first time sends nothing from before it was seen", async () => {
    const old = fixedSource("old", ["2026-03-01T08:00:00Z", "2026-03-02T05:59:00Z"], "history");
    engine([old]).start();
    expect(outbox()).toEqual([]);
    expect(deliveries()).toEqual([]);
  });
});

describe("after downtime", () => {
  /** Runs the engine until `stopAt`, "switches the machine off" and starts a fresh engine at `restartAt`. */
  function downtime(stopAt: string, restartAt: string): void {
    const first = engine();
    first.start();
    first.stop();
    clock.jump(stopAt);
    clock.jump(restartAt);
    engine().start();
  }

  it("a job missed by 30 minutes is sent once, late, saying so", () => {
    addDaily("Take a blood pressure reading");
    downtime("2026-03-02T06:50:00Z", "2026-03-02T07:30:00Z");
    expect(outbox()).toEqual([
      "(late by 30 min: medbot was offline when this was due)\nTake a blood pressure reading",
    ]);
    expect(deliveries()).toMatchObject([{ outcome: "sent", due_at: "2026-03-02T07:00:00.000Z" }]);
  });

  it("a job missed by 3 hours is recorded as missed, not sent", () => {
    addDaily("Take a blood pressure reading");
    downtime("2026-03-02T06:50:00Z", "2026-03-02T10:00:00Z");
    expect(outbox()).toEqual([]);
    expect(deliveries()).toEqual([
      {
        event_key: expect.stringMatching(/^job:\d+$/),
        due_at: "2026-03-02T07:00:00.000Z",
        outcome: "missed",
        outbox_id: null,
      },
    ]);
  });

  it("an every-15m job down for 5 hours sends one message, not a burst, and records the rest", () => {
    store().add(OWNER, CHAT, "Drink water", { every: "15m" }, { timezone: ZONE, config: HOUSEHOLD });
    downtime("2026-03-02T06:00:00Z", "2026-03-02T11:05:00Z");
    expect(outbox()).toEqual(["(late by 5 min: medbot was offline when this was due)\nDrink water"]);
    const rows = deliveries();
    expect(rows).toHaveLength(20);
    expect(rows.filter((row) => row.outcome === "sent").map((row) => row.due_at)).toEqual([
      "2026-03-02T11:00:00.000Z",
    ]);
  });

  it("a late-but-under-a-minute message goes out without a note", () => {
    addDaily("On time");
    downtime("2026-03-02T06:59:00Z", "2026-03-02T07:00:30Z");
    expect(outbox()).toEqual(["On time"]);
  });
});

describe("crash safety", () => {
  it("settling the same window twice (crash before checked_until moved) leaves one outbox row", async () => {
    addDaily("Take a blood pressure reading");
    const running = engine();
    running.start();
    await clock.advance("2026-03-02T07:00:00Z");
    db.prepare("UPDATE scheduler_sources SET checked_until = ?").run("2026-03-02T06:00:00.000Z");
    expect(running.runDue()).toEqual({ sent: 0, missed: 0, held: 0 });
    expect(outbox()).toEqual(["Take a blood pressure reading"]);
    expect(deliveries()).toHaveLength(1);
  });

  it("a failure inside the delivery transaction commits nothing; the next run delivers once", async () => {
    addDaily("Take a blood pressure reading");
    const source = cronJobSource(db, () => clock.now());
    let failures = 1;
    const flaky: DueSource = {
      name: "cron",
      next: (after) => source.next(after),
      due: (from, to) => source.due(from, to),
      settled(event, outcome) {
        if (failures-- > 0) throw new Error("disk full");
        source.settled?.(event, outcome);
      },
    };
    engine([flaky]).start();
    await clock.advance("2026-03-02T07:00:00Z");
    expect(outbox()).toEqual([]);
    expect(deliveries()).toEqual([]);
    // Retried a minute later, not in a tight loop.
    expect(clock.armed()).toEqual([new Date("2026-03-02T07:01:00Z")]);
    await clock.advance("2026-03-02T07:01:00Z");
    // One minute late is within the no-note margin.
    expect(outbox()).toEqual(["Take a blood pressure reading"]);
    expect(deliveries()).toMatchObject([{ outcome: "sent", due_at: "2026-03-02T07:00:00.000Z" }]);
    expect(clock.armed()).toEqual([new Date("2026-03-03T07:00:00Z")]);
  });
});

describe("a chat that lost access since the job was made", () => {
  it("is not sent to; each occurrence is held with why, the owner is told once, and sends resume once allowed", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    const id = store().add(
      OWNER,
      CHAT,
      "Stop taking your BP pills",
      { every: "1h" },
      { timezone: ZONE, config: HOUSEHOLD },
    ).id;
    engine(undefined, logger).start();
    await clock.advance("2026-03-02T07:00:00Z");
    expect(outbox()).toEqual(["Stop taking your BP pills"]);

    pairing.revoke("telegram:42");
    await clock.advance("2026-03-02T09:00:00Z");
    expect(outbox()).toHaveLength(1);
    const reason =
      "telegram:42 is no longer allowed: telegram:42 is neither in channels.telegram.allowFrom nor approved by pairing";
    const held = db
      .prepare(
        "SELECT due_at, outcome, reason, outbox_id FROM scheduled_deliveries WHERE outcome = 'held' ORDER BY due_at",
      )
      .all();
    expect(held).toEqual([
      { due_at: "2026-03-02T08:00:00.000Z", outcome: "held", reason, outbox_id: null },
      { due_at: "2026-03-02T09:00:00.000Z", outcome: "held", reason, outbox_id: null },
    ]);
    expect(store().job(id)?.held?.reason).toBe(reason);
    const warnings = lines.filter((line) => line.includes("scheduled message held"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(reason);
    expect(warnings.join("")).not.toContain("BP pills");
    expect(listAudit(db).filter((entry) => entry.action === "scheduled.held")).toMatchObject([
      { actor: "medbot", entity: "cron", entityId: `job:${id}`, note: reason },
    ]);

    pairing.approve(pairing.codeFor("telegram", "42")!);
    await clock.advance("2026-03-02T10:00:00Z");
    expect(outbox()).toEqual(["Stop taking your BP pills", "Stop taking your BP pills"]);
    expect(store().job(id)?.held).toBeUndefined();
  });

  it("a held one-off job is not marked done: it stays listed with why until removed", async () => {
    const id = store().add(
      OWNER,
      CHAT,
      "Fasting test",
      { at: "2026-03-02T08:00" },
      { timezone: ZONE, config: HOUSEHOLD },
    ).id;
    pairing.revoke("telegram:42");
    engine().start();
    await clock.advance("2026-03-02T08:00:00Z");
    expect(outbox()).toEqual([]);
    expect(store().job(id)).toMatchObject({
      nextRun: undefined,
      held: { reason: expect.stringMatching(/^telegram:42 is no longer allowed/) },
    });
  });
});

describe("delivery through the gateway", () => {
  it("a due job reaches the chat through the outbox and a channel", async () => {
    const telegram = new MemoryChannel("telegram");
    const gateway = await startGateway(file, new ScriptedAgent(), [telegram]);
    try {
      addDaily("Collect the refill at the pharmacy");
      engine().start();
      await clock.advance("2026-03-02T07:00:00Z");
      const deadline = Date.now() + 5_000;
      while (telegram.sent.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(telegram.sent).toMatchObject([{ chatId: "42", text: "Collect the refill at the pharmacy" }]);
      const row = db.prepare("SELECT sent_at FROM gateway_outbox").get() as { sent_at: string | null };
      expect(row.sent_at).not.toBeNull();
    } finally {
      await shutDown(gateway);
    }
  });
});

describe("systemClock", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires a timer 30 days ahead (past Node's 24.8-day setTimeout cap) once, at its time", () => {
    vi.useFakeTimers({ now: new Date("2026-03-02T00:00:00Z") });
    const fired: number[] = [];
    systemClock.setTimer(new Date("2026-04-01T00:00:00Z"), () => fired.push(Date.now()));
    vi.advanceTimersByTime(29 * 24 * HOUR);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(24 * HOUR);
    expect(fired).toEqual([Date.parse("2026-04-01T00:00:00Z")]);
  });

  it("a cancelled timer never fires; a past time fires at once", () => {
    vi.useFakeTimers({ now: new Date("2026-03-02T00:00:00Z") });
    const fired: string[] = [];
    const cancel = systemClock.setTimer(new Date("2026-03-02T00:00:10Z"), () => fired.push("cancelled"));
    systemClock.setTimer(new Date("2026-03-01T00:00:00Z"), () => fired.push("past"));
    cancel();
    vi.advanceTimersByTime(60_000);
    expect(fired).toEqual(["past"]);
  });
});
