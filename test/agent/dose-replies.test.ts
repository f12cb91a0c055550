// A plain "taken" in a chat a medication reminder went to records that reminder's doses, deterministically;
// anything less clear is left to the model and records nothing.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Database from "better-sqlite3";
import { beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { answerDoseReply, isTakenReply } from "../../src/agent/dose-replies.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import type { MedicationFields } from "../../src/archive/entries.js";
import { configSchema } from "../../src/config/schema.js";
import { MessageQueue } from "../../src/delivery/queue.js";
import { silentLogger } from "../../src/log.js";
import { SchedulerEngine } from "../../src/scheduler/engine.js";
import { MedicationReminders } from "../../src/schedules/medication-reminders.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { MIGRATIONS } from "../../src/storage/migrations.js";
import { medicationFields } from "../support/records.js";

const owner = hostOwner();
const ann: Actor = { person: "ann", channel: "telegram", messageId: "5", grants: ["mum", "dad"] };
const chat = { channel: "telegram", chatId: "111" };
let db: Db;
let archive: FamilyArchive;
let now: Date;

const config = configSchema.parse({
  people: { ann: { identities: ["telegram:111"], members: ["mum", "dad"] } },
  reminders: { deliverTo: { mum: ["telegram:111"], dad: ["telegram:111"] } },
});

const medication = (name: string, dose: string, timesOfDay: string[]): MedicationFields =>
  medicationFields({ name, dose, timesOfDay });

/** What the engine does for each due event not delivered yet: an outbox row and its delivery record, together. */
function deliver(from: string, to: string): void {
  const queue = new MessageQueue(db, () => now);
  const events = new MedicationReminders(db, config).due(new Date(from), new Date(to));
  db.transaction(() => {
    for (const event of events) {
      const delivered = db
        .prepare(
          "SELECT 1 FROM scheduled_deliveries WHERE source = 'medication' AND event_key = ? AND due_at = ?",
        )
        .get(event.key, event.dueAt.toISOString());
      if (delivered) continue;
      const outbox = queue.send({ ...event.target, text: event.text });
      db.prepare(
        `INSERT INTO scheduled_deliveries (source, event_key, due_at, outcome, late_ms, outbox_id, settled_at, member_id)
         VALUES ('medication', ?, ?, 'sent', 0, ?, ?, ?)`,
      ).run(event.key, event.dueAt.toISOString(), outbox, now.toISOString(), event.memberId);
    }
  })();
}

const reply = (text: string, actor: Actor = ann, origin = chat) =>
  answerDoseReply({ db, archive, actor, origin, text, now });
const doses = () =>
  db
    .prepare(
      "SELECT medication_id AS med, outcome, scheduled_at AS scheduled, taken_at AS taken, reported_by AS by FROM medication_doses ORDER BY id",
    )
    .all();

beforeEach(() => {
  db = openDatabase(":memory:");
  now = new Date("2026-03-20T12:00:00Z");
  archive = new FamilyArchive(db, { clock: () => now });
  archive.addMember(owner, { id: "mum", displayName: "Mum", timezone: "Europe/Berlin" });
  archive.addMember(owner, { id: "dad", displayName: "Dad", timezone: "Asia/Shanghai" });
  archive.add(
    owner,
    "mum",
    "medications",
    medication("metformin", "500 mg", ["08:00", "20:00"]),
    "confirmed",
  );
  archive.add(owner, "mum", "medications", medication("amlodipine", "5 mg", ["08:00"]), "confirmed");
  now = new Date("2026-03-21T07:00:00Z");
  deliver("2026-03-21T06:00:00Z", "2026-03-21T07:00:00Z");
  now = new Date("2026-03-21T07:25:00Z");
});

describe("a plain taken", () => {
  it("records each medication of the latest reminder in this chat as taken, once", () => {
    expect(reply("Taken")).toBe("Recorded: Mum took metformin 500 mg and amlodipine 5 mg (08:00 dose).");
    expect(doses()).toEqual([
      {
        med: 1,
        outcome: "taken",
        scheduled: "2026-03-21T07:00:00.000Z",
        taken: "2026-03-21T07:25:00.000Z",
        by: "ann",
      },
      {
        med: 2,
        outcome: "taken",
        scheduled: "2026-03-21T07:00:00.000Z",
        taken: "2026-03-21T07:25:00.000Z",
        by: "ann",
      },
    ]);
    // Answered: a second "taken" is the model's to understand.
    expect(reply("taken")).toBeUndefined();
    expect(doses()).toHaveLength(2);
  });

  it("records only what is still open when one dose was recorded already", () => {
    archive.change(ann, { action: "test", memberId: "mum" }, () => {});
    db.prepare(
      `INSERT INTO medication_doses (member_id, medication_id, scheduled_at, outcome, reported_by, channel, created_at, audit_seq)
       VALUES ('mum', 2, '2026-03-21T07:00:00.000Z', 'skipped', 'ann', 'telegram', ?, 1)`,
    ).run(now.toISOString());
    expect(reply("done")).toBe("Recorded: Mum took metformin 500 mg (08:00 dose).");
  });

  it("understands done, took it, 吃了, 已服 and ✅, and nothing more elaborate", () => {
    for (const text of ["done", " Took it ", "吃了", "已服", "✅", "Done!", "taken."])
      expect(isTakenReply(text)).toBe(true);
    for (const text of ["taken?", "not taken", "took it yesterday", "ok", "吃了吗", ""])
      expect(isTakenReply(text)).toBe(false);
    expect(reply("I took metformin but not amlodipine")).toBeUndefined();
    expect(doses()).toEqual([]);
  });

  it("answers only the chat the reminder went to, within three hours", () => {
    expect(reply("taken", ann, { channel: "telegram", chatId: "222" })).toBeUndefined();
    expect(reply("taken", ann, { channel: "whatsapp", chatId: "111" })).toBeUndefined();
    now = new Date("2026-03-21T10:01:00Z");
    expect(reply("taken")).toBeUndefined();
    expect(doses()).toEqual([]);
  });

  it("records nothing for a person not granted the member", () => {
    const stranger: Actor = { person: "telegram:111", channel: "telegram", grants: ["dad"] };
    expect(reply("taken", stranger)).toBeUndefined();
    expect(doses()).toEqual([]);
  });

  it("leaves it to the model when two members' reminders are open at the same time", () => {
    now = new Date("2026-03-20T12:00:00Z");
    archive.add(owner, "dad", "medications", medication("aspirin", "100 mg", ["15:00"]), "confirmed");
    now = new Date("2026-03-21T07:00:00Z");
    deliver("2026-03-21T06:59:00Z", "2026-03-21T07:00:00Z");
    expect(reply("taken")).toBeUndefined();
    expect(doses()).toEqual([]);
  });

  it("answers the newest open reminder in this chat", () => {
    now = new Date("2026-03-21T19:00:00Z");
    deliver("2026-03-21T07:00:00Z", "2026-03-21T19:00:00Z");
    now = new Date("2026-03-21T19:10:00Z");
    expect(reply("✅")).toBe("Recorded: Mum took metformin 500 mg (20:00 dose).");
  });
});

describe("the reminder's member", () => {
  it("comes from the delivery's member column, whatever the chat id looks like", () => {
    // A quoted email local part may hold "@07:00>", the shape a reminder's event key uses between the member
    // and the chat: read back from the key, the member of this reminder would be misread.
    const address = '"ann@07:00>home"@example.org';
    const mailConfig = configSchema.parse({
      channels: { email: { allowFrom: [address] } },
      people: { ann: { identities: [`email:${address}`], members: ["mum"] } },
      reminders: { deliverTo: { mum: [`email:${address}`] } },
    });
    db.prepare("INSERT INTO scheduler_sources (source, checked_until) VALUES ('medication', ?)").run(
      "2026-03-21T18:30:00Z",
    );
    const engine = new SchedulerEngine({
      db,
      sources: [new MedicationReminders(db, mailConfig)],
      clock: { now: () => new Date("2026-03-21T19:00:00Z"), setTimer: () => () => {} },
      logger: silentLogger(),
      recipientRefusal: () => undefined,
    });
    expect(engine.runDue()).toMatchObject({ sent: 1 });
    expect(
      db.prepare("SELECT member_id AS member FROM scheduled_deliveries WHERE outbox_id IS NOT NULL").all(),
    ).toContainEqual({ member: "mum" });
    now = new Date("2026-03-21T19:10:00Z");
    const annByMail: Actor = { person: "ann", channel: "email", grants: ["mum"] };
    expect(reply("taken", annByMail, { channel: "email", chatId: address })).toBe(
      "Recorded: Mum took metformin 500 mg (20:00 dose).",
    );
  });
});

describe("reminders settled before deliveries named their member", () => {
  it("get the member from their event key when the database is migrated", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-dose-member-")), "medbot.db");
    const step = MIGRATIONS.findIndex((sql) => sql.includes("scheduled_deliveries ADD COLUMN member_id"));
    const old = new Database(file);
    for (const sql of MIGRATIONS.slice(0, step)) old.exec(sql);
    old.pragma(`user_version = ${step}`);
    old.exec(`INSERT INTO gateway_outbox (channel, account, chat_id, text, created_at)
                VALUES ('telegram', '', '111', 'reminder', '2026-03-21T07:00:00Z');
              INSERT INTO scheduled_deliveries (source, event_key, due_at, outcome, late_ms, outbox_id, settled_at)
                VALUES ('medication', 'mum@08:00>telegram:111', '2026-03-21T07:00:00.000Z', 'sent', 0, 1,
                        '2026-03-21T07:00:00Z'),
                       ('cron', 'job:1', '2026-03-21T07:00:00.000Z', 'sent', 0, NULL, '2026-03-21T07:00:00Z');`);
    old.close();
    const migrated = openDatabase(file);
    try {
      expect(
        migrated.prepare("SELECT source, member_id AS member FROM scheduled_deliveries ORDER BY id").all(),
      ).toEqual([
        { source: "medication", member: "mum" },
        { source: "cron", member: null },
      ]);
    } finally {
      migrated.close();
    }
  });
});
