// Medication reminders come from the medication record: one message per member and instant, in the
// medication's timezone across DST changes, only to chats of people granted that member, and stopping or
// changing a medication cancels or moves its reminders with no bookkeeping of their own.
import { beforeEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { configSchema, type MedbotConfig } from "../../src/config/schema.js";
import { MedicationReminders, reminderTargetProblems } from "../../src/schedules/medication-reminders.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { medicationFields } from "../support/records.js";

const owner = hostOwner();
let db: Db;
let archive: FamilyArchive;
let now: Date;

/** Adds a medication for a member (the owner records it), confirmed unless said otherwise. */
const addMedication = (
  member: string,
  fields: Parameters<typeof medicationFields>[0],
  status: "confirmed" | "reported" = "confirmed",
) => archive.add(owner, member, "medications", medicationFields(fields), status);

function config(raw: { deliverTo?: Record<string, string[]>; people?: object } = {}): MedbotConfig {
  return configSchema.parse({
    people: raw.people ?? {
      ann: { identities: ["telegram:111", "email:Ann@Example.org"], members: ["mum"] },
      owner: { identities: ["telegram:999", "whatsapp:+49 170 1234567"], members: "*" },
    },
    reminders: { deliverTo: raw.deliverTo ?? { mum: ["telegram:111"] } },
  });
}

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

beforeEach(() => {
  db = openDatabase(":memory:");
  now = new Date("2026-03-20T12:00:00Z");
  archive = new FamilyArchive(db, { clock: () => now });
  archive.addMember(owner, { id: "mum", displayName: "Mum", timezone: "Europe/Berlin" });
  archive.addMember(owner, { id: "dad", displayName: "Dad", timezone: "Asia/Shanghai" });
});

describe("when reminders are due", () => {
  it("keeps a daily 08:00 in Europe/Berlin at 08:00 local across the March DST change (07:00Z, then 06:00Z)", () => {
    addMedication("mum", { name: "metformin", timesOfDay: ["08:00"] });
    const source = new MedicationReminders(db, config(), "UTC");
    const due = source.due(new Date("2026-03-27T00:00:00Z"), new Date("2026-03-31T00:00:00Z"));
    expect(iso(due.map((e) => e.dueAt))).toEqual([
      "2026-03-27T07:00:00.000Z",
      "2026-03-28T07:00:00.000Z",
      "2026-03-29T06:00:00.000Z",
      "2026-03-30T06:00:00.000Z",
    ]);
    expect(due.every((e) => e.text.startsWith("Reminder for Mum, 08:00:"))).toBe(true);
    expect(source.next(new Date("2026-03-28T07:00:00Z"))?.toISOString()).toBe("2026-03-29T06:00:00.000Z");
    // And back in October: 06:00Z on the 24th, 07:00Z from the 25th.
    expect(source.next(new Date("2026-10-24T06:00:00Z"))?.toISOString()).toBe("2026-10-25T07:00:00.000Z");
  });

  it("puts one member's doses at the same instant into one message, sent to each configured chat", () => {
    addMedication("mum", { name: "metformin", dose: "500 mg", timesOfDay: ["08:00", "20:00"] });
    addMedication("mum", { name: "amlodipine", dose: "5 mg", timesOfDay: ["08:00"] }, "reported");
    const source = new MedicationReminders(
      db,
      config({ deliverTo: { mum: ["telegram:111", "email:ann@example.org"] } }),
    );
    const due = source.due(new Date("2026-03-21T00:00:00Z"), new Date("2026-03-22T00:00:00Z"));
    expect(
      due.map((e) => [e.dueAt.toISOString(), e.key, e.target.channel, e.target.chatId, e.graceMs]),
    ).toEqual([
      ["2026-03-21T07:00:00.000Z", "mum@08:00>email:ann@example.org", "email", "ann@example.org", 3_600_000],
      ["2026-03-21T07:00:00.000Z", "mum@08:00>telegram:111", "telegram", "111", 3_600_000],
      ["2026-03-21T19:00:00.000Z", "mum@20:00>email:ann@example.org", "email", "ann@example.org", 3_600_000],
      ["2026-03-21T19:00:00.000Z", "mum@20:00>telegram:111", "telegram", "111", 3_600_000],
    ]);
    expect(due[0]!.text).toBe(
      'Reminder for Mum, 08:00: metformin 500 mg; amlodipine 5 mg. Reply "taken" when done.',
    );
    expect(due[2]!.text).toBe('Reminder for Mum, 20:00: metformin 500 mg. Reply "taken" when done.');
    // The window is (from, to]: a dose exactly at `from` was the previous window's.
    expect(
      source.due(new Date("2026-03-21T07:00:00Z"), new Date("2026-03-21T19:00:00Z")).map((e) => e.key),
    ).toEqual(["mum@20:00>email:ann@example.org", "mum@20:00>telegram:111"]);
  });

  it("uses the medication's timezone first, then the member's, then the host's", () => {
    addMedication("mum", { name: "a", timesOfDay: ["08:00"] });
    addMedication("mum", { name: "b", timesOfDay: ["08:00"], timezone: "America/New_York" });
    const source = new MedicationReminders(db, config(), "Asia/Tokyo");
    const due = source.due(new Date("2026-03-21T00:00:00Z"), new Date("2026-03-22T00:00:00Z"));
    expect(due.map((e) => [e.dueAt.toISOString(), e.text.slice(0, 27)])).toEqual([
      ["2026-03-21T07:00:00.000Z", "Reminder for Mum, 08:00: a."],
      ["2026-03-21T12:00:00.000Z", "Reminder for Mum, 08:00: b."],
    ]);
    db.prepare("UPDATE members SET timezone = NULL WHERE id = 'mum'").run();
    expect(
      iso(source.due(new Date("2026-03-20T20:00:00Z"), new Date("2026-03-21T08:00:00Z")).map((e) => e.dueAt)),
    ).toEqual(["2026-03-20T23:00:00.000Z"]);
  });

  it("starts on the start date and ends after the stop date, both days included", () => {
    addMedication("mum", {
      name: "amoxicillin",
      timesOfDay: ["09:00"],
      startDate: "2026-04-01",
      stopDate: "2026-04-03",
    });
    const source = new MedicationReminders(db, config());
    expect(source.next(now)?.toISOString()).toBe("2026-04-01T07:00:00.000Z");
    expect(iso(source.due(now, new Date("2026-05-01T00:00:00Z")).map((e) => e.dueAt))).toEqual([
      "2026-04-01T07:00:00.000Z",
      "2026-04-02T07:00:00.000Z",
      "2026-04-03T07:00:00.000Z",
    ]);
    expect(source.next(new Date("2026-04-03T07:00:00Z"))).toBeUndefined();
  });
});

describe("following the record", () => {
  it("cancels reminders when a medication is stopped, and moves them when its times change", () => {
    const { entry } = addMedication("mum", { name: "metformin", timesOfDay: ["08:00"] });
    const source = new MedicationReminders(db, config());
    expect(source.next(now)?.toISOString()).toBe("2026-03-21T07:00:00.000Z");

    const moved = archive.revise(
      owner,
      "mum",
      "medications",
      entry.id,
      { timesOfDay: ["09:30", "21:00"] },
      { kind: "update" },
    );
    expect(source.next(now)?.toISOString()).toBe("2026-03-20T20:00:00.000Z");
    expect(source.due(now, new Date("2026-03-21T12:00:00Z")).map((e) => e.key)).toEqual([
      "mum@21:00>telegram:111",
      "mum@09:30>telegram:111",
    ]);

    archive.revise(
      owner,
      "mum",
      "medications",
      moved.entry.id,
      { state: "stopped", stopDate: "2026-03-20" },
      { kind: "update" },
    );
    expect(source.next(now)).toBeUndefined();
    expect(source.due(now, new Date("2026-04-20T00:00:00Z"))).toEqual([]);
  });

  it("ends reminders after a stop date set ahead, and drops a removed medication", () => {
    const { entry } = addMedication("mum", { name: "metformin", timesOfDay: ["08:00"] });
    const source = new MedicationReminders(db, config());
    archive.revise(owner, "mum", "medications", entry.id, { stopDate: "2026-03-22" }, { kind: "update" });
    expect(iso(source.due(now, new Date("2026-04-01T00:00:00Z")).map((e) => e.dueAt))).toEqual([
      "2026-03-21T07:00:00.000Z",
      "2026-03-22T07:00:00.000Z",
    ]);
    const current = archive.current(owner, "mum", "medications")[0]!;
    archive.remove(owner, "mum", "medications", current.id, "entered by mistake");
    expect(source.next(now)).toBeUndefined();
  });

  it("does not remind a dose whose time had passed when the medication was recorded", () => {
    now = new Date("2026-03-21T08:30:00Z");
    addMedication("mum", { name: "metformin", timesOfDay: ["08:00"] });
    const source = new MedicationReminders(db, config());
    expect(source.due(new Date("2026-03-21T06:00:00Z"), now)).toEqual([]);
    expect(source.next(new Date("2026-03-21T06:00:00Z"))?.toISOString()).toBe("2026-03-22T07:00:00.000Z");
  });
});

describe("who gets them", () => {
  it("sends nothing for a member without deliverTo, or with no times of day", () => {
    addMedication("dad", { name: "aspirin", timesOfDay: ["08:00"] });
    addMedication("mum", { name: "paracetamol", frequency: "as needed" });
    const source = new MedicationReminders(db, config());
    expect(source.next(now)).toBeUndefined();
    expect(source.due(now, new Date("2026-04-01T00:00:00Z"))).toEqual([]);
  });

  it("never sends a member's reminders to a chat of someone not granted that member", () => {
    addMedication("dad", { name: "aspirin", timesOfDay: ["08:00"] });
    const cfg = config({
      deliverTo: {
        dad: ["telegram:111", "telegram:-100200", "telegram:999", "whatsapp:491701234567@s.whatsapp.net"],
      },
    });
    const due = new MedicationReminders(db, cfg).due(now, new Date("2026-03-21T12:00:00Z"));
    expect(due.map((e) => e.key)).toEqual([
      "dad@08:00>telegram:999",
      "dad@08:00>whatsapp:491701234567@s.whatsapp.net",
    ]);
    expect(reminderTargetProblems(cfg)).toEqual([
      expect.stringMatching(
        /^reminders\.deliverTo\.dad: telegram:111 is not the chat of a person granted "dad"/,
      ),
      expect.stringMatching(/^reminders\.deliverTo\.dad: telegram:-100200 is not the chat/),
    ]);
  });

  it("accepts direct chats of granted people: telegram ids, WhatsApp numbers or JIDs, email in any case", () => {
    const cfg = config({
      deliverTo: {
        mum: [
          "telegram:111",
          "email:ANN@example.org",
          "whatsapp:+491701234567",
          "whatsapp:491701234567@s.whatsapp.net",
        ],
      },
    });
    expect(reminderTargetProblems(cfg)).toEqual([]);
    expect(reminderTargetProblems(config({ deliverTo: { mum: ["whatsapp:120363@g.us"] } }))).toHaveLength(1);
    expect(reminderTargetProblems(config({ deliverTo: { mum: ["telegram:222"] } }))).toHaveLength(1);
  });
});
