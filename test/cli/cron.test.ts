// `medbot cron list | add | remove`, through its action functions on a real data folder: the host terminal
// is the owner; a job made for a person's chat belongs to that person and uses their timezone.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { cronAdd, cronList, cronRemove, parseChat } from "../../src/cli/cron.js";
import { CliFailure } from "../../src/cli/startup.js";
import { loadConfig } from "../../src/config/load.js";
import { resolvePaths } from "../../src/config/paths.js";
import { silentLogger } from "../../src/log.js";
import { startRoutines } from "../../src/scheduler/routines.js";
import { CronJobStore } from "../../src/schedules/cron-jobs.js";
import { openDatabase } from "../../src/storage/db.js";
import { FakeClock } from "../support/fake-clock.js";
import { tempHome, writeConfig } from "../support/medbot-cli.js";

const homes: string[] = [];
let config: string;

beforeEach(() => {
  const home = tempHome();
  homes.push(home);
  config = writeConfig(home, householdConfig());
});

/** Telegram lets in alice (100), dave (300, not in allowFrom) and a stranger (999); bob is on email; qq is off. */
function householdConfig(people: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    channels: {
      telegram: { enabled: true, token: "123:abc", allowFrom: ["100", "999"] },
      email: { enabled: true, allowFrom: ["bob@example.org"] },
      qq: { enabled: false, allowFrom: ["5"] },
    },
    people: {
      alice: { identities: ["telegram:100"], members: ["mum"], timezone: "Asia/Shanghai" },
      bob: { identities: ["email:bob@example.org"], members: ["dad"] },
      carol: { identities: ["qq:5"], members: ["dad"] },
      dave: { identities: ["telegram:300"], members: ["dad"] },
      ...people,
    },
    reminders: { graceMinutes: 20 },
  };
}

afterAll(() => {
  for (const dir of homes) fs.rmSync(dir, { recursive: true, force: true });
});

async function failure(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(CliFailure);
    return (error as Error).message;
  }
  throw new Error("succeeded");
}

describe("medbot cron", () => {
  it("adds a job owned by the chat's person, in their timezone, and lists it", async () => {
    const added = await cronAdd({ config, chat: "telegram:100", message: "Dentist", at: "2099-06-03T08:30" });
    expect(added).toBe(
      'Added job #1 for telegram:100: at 2099-06-03 08:30 (Asia/Shanghai), next 2099-06-03 08:30: "Dentist"',
    );
    const database = resolvePaths({ configPath: config }, {}).database;
    expect(fs.statSync(database).mode & 0o777).toBe(0o600);
    const db = openDatabase(database);
    expect(db.prepare("SELECT owner_person, grace_ms FROM cron_jobs").get()).toEqual({
      owner_person: "alice",
      grace_ms: 20 * 60_000,
    });
    // Alice sees it from her own chat (the job is hers, not the terminal's).
    const alice = { person: "alice", channel: "telegram", grants: ["mum"] };
    expect(new CronJobStore(db).list(alice, { chat: parseChat("telegram:100") })).toHaveLength(1);
    db.close();
    expect(await cronList({ config })).toBe(
      '#1 telegram:100 (alice) at 2099-06-03 08:30 (Asia/Shanghai), next 2099-06-03 08:30: "Dentist"',
    );
  });

  it("lists one chat with --chat, every chat with --all or by default, and as JSON", async () => {
    await cronAdd({ config, chat: "telegram:100", message: "A", every: "2h", tz: "Europe/Berlin" });
    await cronAdd({ config, chat: "email:bob@example.org", message: "B", cron: "0 8 * * 1" });
    expect(await cronList({ config, chat: "telegram:100" })).toMatch(
      /^#1 telegram:100 \(alice\) every 2h \(Europe\/Berlin\)/,
    );
    expect((await cronList({ config, all: true })).split("\n")).toHaveLength(2);
    expect((await cronList({ config })).split("\n")).toHaveLength(2);
    const json = JSON.parse(await cronList({ config, json: true })) as Array<Record<string, unknown>>;
    expect(json.map((job) => [job.id, job.chat, job.owner, job.kind])).toEqual([
      [1, "telegram:100", "alice", "every"],
      [2, "email:bob@example.org", "bob", "cron"],
    ]);
    expect(await cronList({ config, chat: "qq:9" })).toBe("No jobs for qq:9.");
    expect(await failure(cronList({ config, chat: "telegram:100", all: true }))).toMatch(/not both/);
  });

  it("removes a job by id; an unknown id or a non-number is refused", async () => {
    await cronAdd({ config, chat: "telegram:100", message: "A", every: "2h" });
    expect(await cronRemove("1", { config })).toBe('Removed job #1 (telegram:100): "A"');
    expect(await cronList({ config })).toBe("No jobs.");
    expect(await failure(cronRemove("1", { config }))).toMatch(/there is no job #1;/);
    expect(await failure(cronRemove("one", { config }))).toMatch(/"one" is not a job id/);
  });

  it("refuses bad input naming the option, and stores nothing", async () => {
    expect(await failure(cronAdd({ config, chat: "sms:1", message: "x", every: "2h" }))).toMatch(
      /--chat "sms:1" must be channel:chatId/,
    );
    expect(await failure(cronAdd({ config, chat: "telegram:100", message: "x" }))).toMatch(
      /medbot cron: give exactly one of at/,
    );
    expect(
      await failure(cronAdd({ config, chat: "telegram:100", message: "x", every: "2h", tz: "Nowhere/City" })),
    ).toMatch(/timezone "Nowhere\/City"/);
    expect(await cronList({ config })).toBe("No jobs.");
  });

  it.each([
    ["telegram:999", "telegram:999 is no person's identity in people"],
    ["qq:5", "channel qq is not enabled (channels.qq.enabled)"],
    ["telegram:300", "telegram:300 is not in channels.telegram.allowFrom"],
  ])("refuses to schedule to %s, naming the chat and why, and stores nothing", async (chat, why) => {
    const message = await failure(
      cronAdd({ config, chat, message: "Stop taking your BP pills", every: "1d" }),
    );
    expect(message).toBe(
      `medbot cron: ${chat} may not receive scheduled messages: ${why}. Schedule only to the direct chat of a person in "people" whom the enabled channel lets in.`,
    );
    expect(await cronList({ config })).toBe("No jobs.");
  });

  it("holds a job whose person was removed from config before it fires, and cron list says why", async () => {
    await cronAdd({ config, chat: "telegram:100", message: "Dentist", every: "1h", tz: "UTC" });
    const { alice: _removed, ...others } = householdConfig().people as Record<string, unknown>;
    writeConfig(path.dirname(config), { ...householdConfig(), people: others });
    const reason = "telegram:100 is no longer allowed: telegram:100 is no person's identity in people";
    // Before it fires, the list already says it will not be sent, and why.
    expect(await cronList({ config })).toContain(`"Dentist" — held: ${reason}`);
    const loaded = loadConfig({ configPath: config });
    const db = openDatabase(loaded.paths.database);
    const clock = new FakeClock(new Date());
    const routines = startRoutines({
      config: loaded.config,
      paths: loaded.paths,
      db,
      agent: { handle: async () => "" },
      logger: silentLogger(),
      clock,
    });
    try {
      await clock.advance(61 * 60_000);
      expect(db.prepare("SELECT count(*) AS n FROM gateway_outbox").get()).toEqual({ n: 0 });
    } finally {
      routines.stop();
      db.close();
    }
    expect(await cronList({ config })).toMatch(
      /^#1 telegram:100 \(alice\) every 1h \(UTC\), next .*: "Dentist" — held: telegram:100 is no longer allowed: telegram:100 is no person's identity in people$/,
    );
    const [job] = JSON.parse(await cronList({ config, json: true })) as Array<Record<string, unknown>>;
    expect(job?.held).toMatchObject({
      reason: "telegram:100 is no longer allowed: telegram:100 is no person's identity in people",
    });
  });

  it("before any database exists, list shows no jobs (creating nothing) and remove is refused", async () => {
    expect(await cronList({ config })).toBe("No jobs.");
    expect(fs.existsSync(resolvePaths({ configPath: config }, {}).database)).toBe(false);
    expect(await failure(cronRemove("1", { config }))).toMatch(/No medbot database yet/);
  });
});
