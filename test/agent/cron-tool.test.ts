// The cron tool as the model calls it: it acts only in the turn's chat, as the turn's person.

import { beforeEach, describe, expect, it } from "vitest";
import type { Actor } from "../../src/access/actor.js";
import { scheduledChatRefusal } from "../../src/access/scheduled-chats.js";
import { BUILTIN_SKILLS_DIR } from "../../src/agent/skills.js";
import { cronTool } from "../../src/agent/tools/cron.js";
import { runToolCall, type ToolContext, toolDefinitions } from "../../src/agent/tools/tool.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { configSchema } from "../../src/config/schema.js";
import { silentLogger } from "../../src/log.js";
import { SchedulerEngine } from "../../src/scheduler/engine.js";
import { cronJobSource } from "../../src/schedules/cron-jobs.js";
import { openDatabase } from "../../src/storage/db.js";
import { FakeClock } from "../support/fake-clock.js";

const ALICE: Actor = { person: "alice", channel: "telegram", grants: ["mum"] };
const BOB: Actor = { person: "bob", channel: "telegram", grants: ["dad"] };
const ALICE_CHAT = { channel: "telegram", chatId: "100" };
const BOB_CHAT = { channel: "telegram", chatId: "200" };

let context: ToolContext;

function call(args: Record<string, unknown>, actor: Actor, origin: ToolContext["origin"]): Promise<string> {
  return runToolCall(
    [cronTool],
    { id: "c", name: "cron", arguments: JSON.stringify(args) },
    {
      ...context,
      actor,
      origin,
    },
  );
}

beforeEach(() => {
  const config = configSchema.parse({
    channels: { telegram: { enabled: true, token: "123:abc", allowFrom: ["100", "200", "999"] } },
    people: {
      alice: { identities: ["telegram:100"], members: ["mum"], timezone: "Asia/Shanghai" },
      bob: { identities: ["telegram:200"], members: ["dad"] },
    },
    reminders: { graceMinutes: 30 },
  });
  context = {
    workspace: "/nonexistent",
    restrictToWorkspace: true,
    builtinSkills: BUILTIN_SKILLS_DIR,
    sessionKey: "telegram:100:100",
    actor: ALICE,
    archive: new FamilyArchive(openDatabase(":memory:")),
    config,
  };
});

describe("cron tool", () => {
  it("adds a job in the caller's chat, in the caller's timezone, with the configured grace", async () => {
    const reply = await call(
      { action: "add", message: "Fasting blood test", at: "2099-06-03T08:30" },
      ALICE,
      ALICE_CHAT,
    );
    expect(reply).toBe(
      'Added job #1, at 2099-06-03 08:30 (Asia/Shanghai), next 2099-06-03 08:30: "Fasting blood test"',
    );
    const row = context.archive.db.prepare("SELECT * FROM cron_jobs").get();
    expect(row).toMatchObject({
      owner_person: "alice",
      channel: "telegram",
      chat_id: "100",
      spec: "2099-06-03T00:30:00.000Z",
      grace_ms: 30 * 60_000,
    });
  });

  it("takes an explicit tz over the person's", async () => {
    const reply = await call(
      { action: "add", message: "Walk", cron: "0 9 * * 1", tz: "Europe/Berlin" },
      ALICE,
      ALICE_CHAT,
    );
    expect(reply).toMatch(
      /^Added job #1, cron 0 9 \* \* 1 \(Europe\/Berlin\), next \d{4}-\d\d-\d\d 09:00: "Walk"$/,
    );
  });

  it("lists and removes only within the caller's chat", async () => {
    await call({ action: "add", message: "Alice's refill", every: "3d" }, ALICE, ALICE_CHAT);
    await call({ action: "add", message: "Bob's walk", every: "1d" }, BOB, BOB_CHAT);
    expect(await call({ action: "list" }, BOB, BOB_CHAT)).toMatch(/^#2 every 1d .*"Bob's walk"$/);
    expect(await call({ action: "list" }, BOB, ALICE_CHAT)).toBe("No jobs in this chat.");
    expect(await call({ action: "remove", id: 1 }, BOB, BOB_CHAT)).toBe(
      "Error: there is no job #1 in this chat; list the jobs to see their ids.",
    );
    expect(await call({ action: "list" }, ALICE, ALICE_CHAT)).toMatch(/"Alice's refill"/);
    expect(await call({ action: "remove", id: 1 }, ALICE, ALICE_CHAT)).toBe(
      `Removed job #1: "Alice's refill".`,
    );
    expect(await call({ action: "list" }, ALICE, ALICE_CHAT)).toBe("No jobs in this chat.");
  });

  it("returns errors as results naming what is wrong, and changes nothing", async () => {
    expect(await call({ action: "add", message: "x", every: "5s" }, ALICE, ALICE_CHAT)).toMatch(
      /^Error: every "5s" must be .* like 30m, 2h or 3d/,
    );
    expect(await call({ action: "add", every: "2h" }, ALICE, ALICE_CHAT)).toMatch(
      /^Error: add needs a message/,
    );
    expect(await call({ action: "add", message: "x", at: "2001-01-01T08:00" }, ALICE, ALICE_CHAT)).toMatch(
      /^Error: at "2001-01-01T08:00" is in the past/,
    );
    expect(await call({ action: "add", message: "x", cron: "0 8 * *" }, ALICE, ALICE_CHAT)).toMatch(
      /^Error: cron "0 8 \* \*" is not a valid five-field expression/,
    );
    expect(await call({ action: "remove" }, ALICE, ALICE_CHAT)).toMatch(/^Error: remove needs the id/);
    expect(await call({ action: "list" }, ALICE, undefined)).toMatch(/^Error: cron jobs belong to a chat/);
    expect(await call({ action: "list" }, ALICE, { channel: "cli", chatId: "local" })).toMatch(
      /^Error: cron jobs/,
    );
    expect(context.archive.db.prepare("SELECT count(*) AS n FROM cron_jobs").get()).toEqual({ n: 0 });
  });

  it("refuses to schedule into a chat that is no person's identity, or whose channel is off, storing nothing", async () => {
    // A stranger the channel lets in (allowFrom) is still nobody: no scheduled sends to their chat.
    const stranger: Actor = { person: "telegram:999", channel: "telegram", grants: [] };
    expect(
      await call({ action: "add", message: "Stop your BP pills", every: "1d" }, stranger, {
        channel: "telegram",
        chatId: "999",
      }),
    ).toBe(
      'Error: telegram:999 may not receive scheduled messages: telegram:999 is no person\'s identity in people. Schedule only to the direct chat of a person in "people" whom the enabled channel lets in.',
    );
    const off = { ...context, config: configSchema.parse({ people: context.config?.people }) };
    const reply = await runToolCall(
      [cronTool],
      { id: "c", name: "cron", arguments: JSON.stringify({ action: "add", message: "Walk", every: "1d" }) },
      { ...off, actor: ALICE, origin: ALICE_CHAT },
    );
    expect(reply).toMatch(
      /^Error: telegram:100 may not receive scheduled messages: channel telegram is not enabled/,
    );
    expect(context.archive.db.prepare("SELECT count(*) AS n FROM cron_jobs").get()).toEqual({ n: 0 });
  });

  it("re-arms a running engine on the same database at once", async () => {
    const clock = new FakeClock(new Date());
    const db = context.archive.db;
    const config = context.config!;
    const engine = new SchedulerEngine({
      db,
      sources: [cronJobSource(db)],
      clock,
      logger: silentLogger(),
      recipientRefusal: (target) => scheduledChatRefusal(config, db, target),
    });
    engine.start();
    try {
      expect(clock.armed()).toEqual([]);
      await call({ action: "add", message: "Soon", at: "2099-01-01T00:00Z" }, ALICE, ALICE_CHAT);
      expect(clock.armed()).toEqual([new Date("2099-01-01T00:00:00Z")]);
      await call({ action: "remove", id: 1 }, ALICE, ALICE_CHAT);
      expect(clock.armed()).toEqual([]);
    } finally {
      engine.stop();
    }
  });

  it("keeps its definition compact", () => {
    expect(JSON.stringify(toolDefinitions([cronTool])).length).toBeLessThan(800);
  });
});
