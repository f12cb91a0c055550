// Doctor's scheduled-sends check: heartbeat and reminder targets and cron jobs whose chat may no longer
// receive scheduled messages are reported (they are held, not sent); doctor never creates the database.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { checkScheduledTargets } from "../../src/doctor/doctor-schedules.js";
import { CronJobStore } from "../../src/schedules/cron-jobs.js";
import { openDatabase } from "../../src/storage/db.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-schedules-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const household = (allowFrom: string[], heartbeat: Record<string, unknown> = {}) =>
  configSchema.parse({
    channels: { telegram: { enabled: true, token: "123:abc", allowFrom } },
    people: { alice: { identities: ["telegram:100"], members: ["mum"] } },
    heartbeat,
    reminders: { deliverTo: { mum: ["telegram:100"] } },
  });

describe("doctor: scheduled sends that are held", () => {
  it("is silent when every target may receive, and creates no database", () => {
    const database = path.join(scratch, "none", "medbot.db");
    expect(
      checkScheduledTargets(household(["100"], { enabled: true, target: "telegram:100" }), { database }),
    ).toEqual([]);
    expect(fs.existsSync(database)).toBe(false);
  });

  it("reports the heartbeat target and reminder chats a channel no longer lets in", () => {
    const database = path.join(scratch, "none", "medbot.db");
    const findings = checkScheduledTargets(household([], { enabled: true, target: "telegram:100" }), {
      database,
    });
    expect(findings.map((f) => [f.id, f.severity, f.what])).toEqual([
      [
        "scheduled.held",
        "medium",
        "heartbeat.target: telegram:100 may not receive scheduled messages: telegram:100 is not in channels.telegram.allowFrom; they are held, not sent",
      ],
      [
        "scheduled.held",
        "medium",
        "reminders.deliverTo.mum: telegram:100 may not receive scheduled messages: telegram:100 is not in channels.telegram.allowFrom; they are held, not sent",
      ],
    ]);
  });

  it("reports a cron job whose chat lost access, with how to remove it", () => {
    const database = path.join(scratch, "jobs.db");
    const db = openDatabase(database);
    const chat = { channel: "telegram" as const, chatId: "100", account: "" };
    const alice = { person: "alice", channel: "telegram", grants: ["mum"] };
    new CronJobStore(db).add(
      alice,
      chat,
      "Refill",
      { every: "1d" },
      { timezone: "UTC", config: household(["100"]) },
    );
    db.close();
    const before = fs.statSync(database).mtimeMs;
    const findings = checkScheduledTargets(configSchema.parse({ ...household(["100"]), reminders: {} }), {
      database,
    });
    expect(findings).toEqual([]);
    const held = checkScheduledTargets(configSchema.parse({ ...household([]), reminders: {} }), { database });
    expect(held.map((f) => [f.what, f.fix])).toEqual([
      [
        "cron job #1 is held: telegram:100 is no longer allowed: telegram:100 is not in channels.telegram.allowFrom.",
        "Remove it with medbot cron remove 1, or let the chat in again if it should still receive it.",
      ],
    ]);
    expect(fs.statSync(database).mtimeMs).toBe(before);
  });
});
