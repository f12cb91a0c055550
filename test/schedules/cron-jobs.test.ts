// The cron job store: a job belongs to the person and chat that made it; owners see a chat's or all jobs.
import { beforeEach, describe, expect, it } from "vitest";
import type { Actor } from "../../src/access/actor.js";
import { configSchema } from "../../src/config/schema.js";
import { CronJobStore, cronJobSource, describeJob, personTimeZone } from "../../src/schedules/cron-jobs.js";
import { ScheduleError } from "../../src/schedules/schedule.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { hostTimeZone } from "../../src/time/dates.js";

const NOW = new Date("2026-03-02T06:00:00Z");
const ALICE: Actor = { person: "alice", channel: "telegram", grants: ["mum"] };
const BOB: Actor = { person: "bob", channel: "telegram", grants: ["dad"] };
const OWNER: Actor = { person: "ann", channel: "telegram", grants: "*" };
const ALICE_CHAT = { channel: "telegram" as const, chatId: "100", account: "" };
const BOB_CHAT = { channel: "telegram" as const, chatId: "200", account: "" };
/** Alice's and Bob's chats are theirs, on an enabled channel that lets them in: jobs may go there. */
const HOUSEHOLD = configSchema.parse({
  channels: { telegram: { enabled: true, token: "123:abc", allowFrom: ["100", "200"] } },
  people: {
    alice: { identities: ["telegram:100"], members: ["mum"] },
    bob: { identities: ["telegram:200"], members: ["dad"] },
  },
});
const ZONE = { timezone: "Europe/Berlin", config: HOUSEHOLD };

let db: Db;
let store: CronJobStore;

beforeEach(() => {
  db = openDatabase(":memory:");
  store = new CronJobStore(db, () => NOW);
});

describe("CronJobStore", () => {
  it("adds a job and lists it with its next run in the job's timezone", () => {
    const job = store.add(ALICE, ALICE_CHAT, "  Dentist at 10  ", { cron: "0 8 * * 1" }, ZONE);
    expect(job).toMatchObject({ ownerPerson: "alice", message: "Dentist at 10", target: ALICE_CHAT });
    expect(job.nextRun?.toISOString()).toBe("2026-03-02T07:00:00.000Z");
    expect(describeJob(job)).toBe('cron 0 8 * * 1 (Europe/Berlin), next 2026-03-02 08:00: "Dentist at 10"');
    expect(store.list(ALICE, { chat: ALICE_CHAT }).map((j) => j.id)).toEqual([job.id]);
  });

  it("refuses an empty message and a bad schedule, storing nothing", () => {
    expect(() => store.add(ALICE, ALICE_CHAT, " ", { every: "2h" }, ZONE)).toThrow(/message is empty/);
    expect(() => store.add(ALICE, ALICE_CHAT, "x", { every: "2 weeks" }, ZONE)).toThrow(ScheduleError);
    expect(db.prepare("SELECT count(*) AS n FROM cron_jobs").get()).toEqual({ n: 0 });
  });

  it("a person sees and removes only their own jobs in their own chat", () => {
    const alices = store.add(ALICE, ALICE_CHAT, "Refill", { every: "3d" }, ZONE);
    const bobs = store.add(BOB, BOB_CHAT, "Walk", { every: "1d" }, ZONE);
    // Bob in Alice's chat (a group, say) still sees only his own jobs there: none.
    expect(store.list(BOB, { chat: ALICE_CHAT })).toEqual([]);
    expect(store.list(ALICE, { chat: BOB_CHAT })).toEqual([]);
    expect(() => store.remove(BOB, alices.id, { chat: BOB_CHAT })).toThrow(
      `there is no job #${alices.id} in this chat`,
    );
    expect(() => store.remove(BOB, alices.id, { chat: ALICE_CHAT })).toThrow(/no job/);
    expect(() => store.list(ALICE, { all: true })).toThrow(/only an owner/);
    expect(store.job(alices.id)).toBeDefined();
    expect(store.remove(BOB, bobs.id, { chat: BOB_CHAT }).id).toBe(bobs.id);
    expect(store.job(bobs.id)).toBeUndefined();
  });

  it("an owner sees every job of a chat, and with all every chat's", () => {
    const alices = store.add(ALICE, ALICE_CHAT, "Refill", { every: "3d" }, ZONE);
    const bobs = store.add(BOB, BOB_CHAT, "Walk", { every: "1d" }, ZONE);
    expect(store.list(OWNER, { chat: ALICE_CHAT }).map((j) => j.id)).toEqual([alices.id]);
    expect(store.list(OWNER, { all: true }).map((j) => j.id)).toEqual([alices.id, bobs.id]);
    store.remove(OWNER, bobs.id, { all: true });
    expect(store.list(OWNER, { all: true }).map((j) => j.id)).toEqual([alices.id]);
  });

  it("caps the jobs of one chat", () => {
    for (let i = 0; i < 50; i++) store.add(ALICE, ALICE_CHAT, `job ${i}`, { every: "1d" }, ZONE);
    expect(() => store.add(ALICE, ALICE_CHAT, "one more", { every: "1d" }, ZONE)).toThrow(
      /already has 50 jobs/,
    );
  });
});

describe("cron DueSource", () => {
  it("lists due occurrences oldest first and ignores removed and done jobs", () => {
    const daily = store.add(ALICE, ALICE_CHAT, "Daily", { cron: "0 8 * * *" }, ZONE);
    const once = store.add(BOB, BOB_CHAT, "Once", { at: "2026-03-02T07:30" }, ZONE);
    const gone = store.add(BOB, BOB_CHAT, "Gone", { every: "30m" }, ZONE);
    store.remove(BOB, gone.id, { chat: BOB_CHAT });
    const source = cronJobSource(db, () => NOW);
    expect(source.next(NOW)?.toISOString()).toBe("2026-03-02T06:30:00.000Z");
    const events = source.due(NOW, new Date("2026-03-03T12:00:00Z"));
    expect(events.map((e) => [e.key, e.dueAt.toISOString(), e.text])).toEqual([
      [`job:${once.id}`, "2026-03-02T06:30:00.000Z", "Once"],
      [`job:${daily.id}`, "2026-03-02T07:00:00.000Z", "Daily"],
      [`job:${daily.id}`, "2026-03-03T07:00:00.000Z", "Daily"],
    ]);
    expect(events[0]).toMatchObject({ target: BOB_CHAT, graceMs: 3_600_000 });
    source.settled?.(events[0]!, "sent");
    source.settled?.(events[1]!, "sent");
    expect(store.job(once.id)).toBeUndefined();
    expect(store.job(daily.id)).toBeDefined();
    expect(source.due(NOW, new Date("2026-03-02T12:00:00Z")).map((e) => e.text)).toEqual(["Daily"]);
  });

  it("a cron job has no occurrences before it was created", () => {
    store.add(ALICE, ALICE_CHAT, "Daily", { cron: "0 8 * * *" }, ZONE);
    const source = cronJobSource(db, () => NOW);
    expect(source.due(new Date("2026-02-01T00:00:00Z"), NOW)).toEqual([]);
  });
});

describe("personTimeZone", () => {
  it("is the person's configured timezone, else the host's", () => {
    const config = configSchema.parse({
      people: { alice: { identities: ["telegram:100"], members: ["mum"], timezone: "Asia/Shanghai" } },
    });
    expect(personTimeZone(config, "alice")).toBe("Asia/Shanghai");
    expect(personTimeZone(config, "bob")).toBe(hostTimeZone());
    expect(personTimeZone(undefined, "alice")).toBe(hostTimeZone());
  });
});
