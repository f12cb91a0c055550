// The heartbeat: HEARTBEAT.md tasks in one agent turn as the target's person, silence unless something is
// worth saying, findings only to heartbeat.target, quiet hours, the iteration cap and one timer at a time.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { IncomingMessage } from "../../src/agent/loop.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { configSchema, type MedbotConfig } from "../../src/config/schema.js";
import {
  HEARTBEAT_OK,
  Heartbeat,
  heartbeatTarget,
  heartbeatTasks,
  isHeartbeatOk,
} from "../../src/scheduler/heartbeat.js";
import { isQuiet, quietEnd } from "../../src/scheduler/quiet-hours.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { FakeClock } from "../support/fake-clock.js";

const TEMPLATE = fs.readFileSync(new URL("../../workspace-template/HEARTBEAT.md", import.meta.url), "utf8");
const TASKS = `# Heartbeat

Intro text, not a task:
- not a task either

## Tasks

<!-- - a disabled task -->
- Run the household risk scan and report only new findings.
* Check whether Dad's blood pressure readings stopped.

## Notes

- not a task
`;
const FINDING = "Dad: blood pressure averaged 150/95 over 7 days, above his goal of 130/80. Call his GP.";
/** 2026-11-22 10:00 in Berlin (UTC+1): outside the default 22:00–07:00 quiet hours. */
const DAYTIME = "2026-11-22T09:00:00Z";
const INTERVAL_MS = 1800 * 1000;

/** An agent that answers from a script and records every message it was given. */
class ScriptedAgent {
  readonly calls: IncomingMessage[] = [];
  private pending?: () => void;

  constructor(
    private readonly replies: string[],
    private readonly hold = false,
  ) {}

  async handle(message: IncomingMessage): Promise<string> {
    this.calls.push(message);
    if (this.hold) await new Promise<void>((resolve) => (this.pending = resolve));
    return this.replies.shift() ?? HEARTBEAT_OK;
  }

  release(): void {
    this.pending?.();
  }
}

let dir: string;
let db: Db;
let logLines: string[];

function configWith(
  heartbeat: Record<string, unknown> = {},
  people?: Record<string, unknown>,
  allowFrom = ["100", "200"],
): MedbotConfig {
  return configSchema.parse({
    channels: { telegram: { enabled: true, token: "123:abc", allowFrom } },
    people: people ?? {
      ann: { identities: ["telegram:100"], members: "*", timezone: "Europe/Berlin" },
      carol: { identities: ["telegram:200"], members: ["mum"] },
    },
    heartbeat: { enabled: true, intervalS: 1800, target: "telegram:100", maxIterations: 3, ...heartbeat },
  });
}

function heartbeatWith(
  config: MedbotConfig,
  agent: ScriptedAgent,
  clock: FakeClock,
  tasks = TASKS,
): Heartbeat {
  fs.writeFileSync(path.join(dir, "HEARTBEAT.md"), tasks);
  const logger = pino({ level: "info" }, { write: (line: string) => logLines.push(line) });
  return new Heartbeat({ config, paths: { workspace: dir }, agent, db, clock, logger, hostTimeZone: "UTC" });
}

const outbox = () =>
  db.prepare("SELECT channel, account, chat_id AS chatId, text FROM gateway_outbox").all() as {
    channel: string;
    account: string;
    chatId: string;
    text: string;
  }[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-heartbeat-"));
  db = openDatabase(path.join(dir, "medbot.db"));
  logLines = [];
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("HEARTBEAT.md and replies", () => {
  it("reads list items under '## Tasks' only, outside HTML comments", () => {
    expect(heartbeatTasks(TEMPLATE)).toEqual([]);
    expect(heartbeatTasks(TASKS)).toEqual([
      "Run the household risk scan and report only new findings.",
      "Check whether Dad's blood pressure readings stopped.",
    ]);
  });

  it("treats HEARTBEAT_OK (any case, punctuation around it) and an empty reply as nothing to say", () => {
    for (const reply of ["HEARTBEAT_OK", " heartbeat_ok. ", "**HEARTBEAT_OK**", "`HEARTBEAT_OK`", ""])
      expect(isHeartbeatOk(reply)).toBe(true);
    for (const reply of ["HEARTBEAT_OK but Dad's BP is high", FINDING, "OK"])
      expect(isHeartbeatOk(reply)).toBe(false);
  });
});

describe("a heartbeat run", () => {
  it("makes no model call when HEARTBEAT.md has no tasks", async () => {
    const agent = new ScriptedAgent([FINDING]);
    const result = await heartbeatWith(configWith(), agent, new FakeClock(DAYTIME), TEMPLATE).runOnce();
    expect(result).toEqual({ kind: "no-tasks" });
    expect(agent.calls).toEqual([]);
    expect(outbox()).toEqual([]);
  });

  it("queues nothing for a HEARTBEAT_OK reply", async () => {
    const agent = new ScriptedAgent([" HEARTBEAT_OK. "]);
    expect(await heartbeatWith(configWith(), agent, new FakeClock(DAYTIME)).runOnce()).toEqual({
      kind: "ok",
    });
    expect(agent.calls).toHaveLength(1);
    expect(outbox()).toEqual([]);
  });

  it("runs one turn as the target's person, capped at maxIterations, and queues a finding once to the target", async () => {
    const agent = new ScriptedAgent([FINDING]);
    const result = await heartbeatWith(configWith(), agent, new FakeClock(DAYTIME)).runOnce();
    expect(result).toMatchObject({ kind: "queued" });
    expect(agent.calls).toHaveLength(1);
    const call = agent.calls[0]!;
    expect(call).toMatchObject({
      sessionKey: "heartbeat",
      origin: { channel: "telegram", chatId: "100" },
      actor: { person: "ann", grants: "*" },
      maxToolIterations: 3,
    });
    expect(call.text).toContain(`reply exactly ${HEARTBEAT_OK}`);
    expect(call.text).toContain("- Run the household risk scan and report only new findings.");
    expect(call.text).not.toContain("not a task");
    expect(outbox()).toEqual([{ channel: "telegram", account: "", chatId: "100", text: FINDING }]);
    expect(listAudit(db).map((entry) => [entry.action, entry.actor, entry.entityId])).toEqual([
      ["heartbeat.send", "ann", "telegram:100"],
    ]);
  });

  it("acts as a caregiver target with that person's grants only", async () => {
    const agent = new ScriptedAgent([HEARTBEAT_OK]);
    await heartbeatWith(configWith({ target: "telegram:200" }), agent, new FakeClock(DAYTIME)).runOnce();
    expect(agent.calls[0]).toMatchObject({ actor: { person: "carol", grants: ["mum"] } });
  });

  it("refuses to run, and says why, when the target chat is no configured person (never as the owner)", async () => {
    const agent = new ScriptedAgent([FINDING]);
    const clock = new FakeClock(DAYTIME);
    const heartbeat = heartbeatWith(configWith({ target: "telegram:999" }), agent, clock);
    expect(heartbeat.start()).toBe(false);
    expect(clock.armed()).toEqual([]);
    expect(await heartbeat.runOnce()).toMatchObject({ kind: "refused" });
    expect(agent.calls).toEqual([]);
    expect(outbox()).toEqual([]);
    expect(logLines.join("")).toContain("telegram:999 is no person's identity in people");
    expect(heartbeatTarget(configWith({}, {}))).toEqual({
      problem: expect.stringMatching(/no person's identity/),
    });
  });

  it("holds the run when the target's chat is no longer let in: no model turn, nothing queued, told once", async () => {
    const agent = new ScriptedAgent([FINDING, FINDING]);
    const heartbeat = heartbeatWith(configWith({}, undefined, ["200"]), agent, new FakeClock(DAYTIME));
    const reason = "telegram:100 is no longer allowed: telegram:100 is not in channels.telegram.allowFrom";
    expect(await heartbeat.runOnce()).toEqual({ kind: "held", reason });
    expect(await heartbeat.runOnce()).toEqual({ kind: "held", reason });
    expect(agent.calls).toEqual([]);
    expect(outbox()).toEqual([]);
    expect(logLines.filter((line) => line.includes(reason))).toHaveLength(1);
  });

  it("skips the run in quiet hours of the target person's timezone and arms the next at their end", async () => {
    const agent = new ScriptedAgent([FINDING]);
    // 23:30 in Berlin (UTC+1) on 2026-11-22; quiet until 07:00 Berlin = 06:00 UTC.
    const clock = new FakeClock("2026-11-22T22:00:00Z");
    const heartbeat = heartbeatWith(configWith(), agent, clock);
    heartbeat.start();
    await clock.advance(INTERVAL_MS);
    expect(agent.calls).toEqual([]);
    expect(outbox()).toEqual([]);
    expect(clock.armed()).toEqual([new Date("2026-11-23T06:00:00Z")]);
    await clock.advance("2026-11-23T06:00:00Z");
    expect(agent.calls).toHaveLength(1);
    expect(outbox()).toHaveLength(1);
    expect(clock.armed()).toEqual([new Date(Date.parse("2026-11-23T06:00:00Z") + INTERVAL_MS)]);
  });

  it("runs at night when quiet hours are switched off", async () => {
    const agent = new ScriptedAgent([HEARTBEAT_OK]);
    const heartbeat = heartbeatWith(
      configWith({ quietHours: null }),
      agent,
      new FakeClock("2026-11-22T23:00:00Z"),
    );
    expect(await heartbeat.runOnce()).toEqual({ kind: "ok" });
  });

  it("logs no task or reply text at info", async () => {
    const agent = new ScriptedAgent([FINDING]);
    await heartbeatWith(configWith(), agent, new FakeClock(DAYTIME)).runOnce();
    const logs = logLines.join("");
    expect(logs).toContain("heartbeat: finding queued");
    expect(logs).not.toContain("150/95");
    expect(logs).not.toContain("risk scan");
  });
});

describe("the heartbeat's timer", () => {
  it("keeps one timer, re-armed an interval after each run", async () => {
    const agent = new ScriptedAgent([HEARTBEAT_OK, FINDING]);
    const clock = new FakeClock(DAYTIME);
    const heartbeat = heartbeatWith(configWith(), agent, clock);
    expect(heartbeat.start()).toBe(true);
    expect(heartbeat.start()).toBe(true);
    expect(clock.armed()).toEqual([new Date(Date.parse(DAYTIME) + INTERVAL_MS)]);
    await clock.advance(INTERVAL_MS);
    expect(agent.calls).toHaveLength(1);
    expect(clock.armed()).toEqual([new Date(Date.parse(DAYTIME) + 2 * INTERVAL_MS)]);
    await clock.advance(INTERVAL_MS);
    expect(agent.calls).toHaveLength(2);
    expect(outbox()).toHaveLength(1);
    expect(clock.armed()).toHaveLength(1);
    heartbeat.stop();
    expect(clock.armed()).toEqual([]);
  });

  it("never runs twice at once: a slow run arms nothing until it ends, and a run asked for meanwhile is refused", async () => {
    const agent = new ScriptedAgent([FINDING], true);
    const clock = new FakeClock(DAYTIME);
    const heartbeat = heartbeatWith(configWith(), agent, clock);
    heartbeat.start();
    await clock.advance(INTERVAL_MS);
    expect(agent.calls).toHaveLength(1);
    expect(clock.armed()).toEqual([]);
    expect(await heartbeat.runOnce()).toEqual({ kind: "busy" });
    await clock.advance(3 * INTERVAL_MS);
    expect(agent.calls).toHaveLength(1);
    agent.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(outbox()).toHaveLength(1);
    expect(clock.armed()).toEqual([new Date(Date.parse(DAYTIME) + 4 * INTERVAL_MS + INTERVAL_MS)]);
  });

  it("does not start when the heartbeat is switched off", () => {
    const clock = new FakeClock(DAYTIME);
    expect(heartbeatWith(configWith({ enabled: false }), new ScriptedAgent([]), clock).start()).toBe(false);
    expect(clock.armed()).toEqual([]);
  });
});

describe("quiet hours", () => {
  const night = { start: "22:00", end: "07:00" };

  it("span midnight in the person's timezone and end at the local end time, across a DST change", () => {
    expect(isQuiet(night, new Date("2026-11-22T21:30:00Z"), "Europe/Berlin")).toBe(true);
    expect(isQuiet(night, new Date("2026-11-22T20:59:00Z"), "Europe/Berlin")).toBe(false);
    expect(isQuiet(night, new Date("2026-11-22T05:59:00Z"), "Europe/Berlin")).toBe(true);
    expect(isQuiet(night, new Date("2026-11-22T06:00:00Z"), "Europe/Berlin")).toBe(false);
    expect(isQuiet(night, new Date("2026-11-22T21:30:00Z"), "America/New_York")).toBe(false);
    // The night of the spring-forward change: 07:00 CEST is 05:00 UTC.
    expect(quietEnd(night, new Date("2026-03-28T22:00:00Z"), "Europe/Berlin")).toEqual(
      new Date("2026-03-29T05:00:00Z"),
    );
    const day = new Date("2026-11-22T12:00:00Z");
    expect(quietEnd(night, day, "Europe/Berlin")).toBe(day);
    expect(isQuiet({ start: "13:00", end: "14:00" }, day, "UTC")).toBe(false);
    expect(isQuiet({ start: "12:00", end: "14:00" }, day, "UTC")).toBe(true);
    expect(isQuiet(null, day, "UTC")).toBe(false);
  });
});
