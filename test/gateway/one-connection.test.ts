// The gateway process opens medbot.db once: a cron job the agent's cron tool adds reaches the scheduler through
// the in-process notice (schedulesChanged) at once, not through the data_version poll on the supervision tick,
// which this test never runs (as if the tick were very long).
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { BUILTIN_SKILLS_DIR } from "../../src/agent/skills.js";
import { cronTool } from "../../src/agent/tools/cron.js";
import { familyRecord } from "../../src/agent/tools/family-record.js";
import { runToolCall, type ToolContext } from "../../src/agent/tools/tool.js";
import { openGatewayAgent } from "../../src/cli/gateway.js";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/log.js";
import { type Routines, startRoutines } from "../../src/scheduler/routines.js";
import { FakeClock } from "../support/fake-clock.js";
import { tempHome, writeConfig } from "../support/medbot-cli.js";

const ANNA: Actor = { person: "anna", channel: "telegram", grants: ["mum"] };
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0).reverse()) stop();
});

describe("one database connection in the gateway process", () => {
  it("schedules a job the agent's cron tool adds without waiting for the poll", async () => {
    const home = tempHome("medbot-one-db-");
    writeConfig(home, {
      channels: { telegram: { enabled: true, token: "123:abc", allowFrom: ["501"] } },
      people: { anna: { identities: ["telegram:501"], members: "*", timezone: "UTC" } },
    });
    const loaded = loadConfig({ configPath: path.join(home, "config.json") }, {});
    const logger = silentLogger();
    const { db, agent } = openGatewayAgent(loaded, logger);
    stops.push(() => {
      agent.close();
      db.close();
    });
    const routines: Routines = startRoutines({
      config: loaded.config,
      paths: loaded.paths,
      db,
      agent,
      logger,
    });
    stops.push(() => routines.stop());

    const at = new Date(Date.now() + 2_500).toISOString().slice(0, 19);
    const reply = await runToolCall(
      [cronTool],
      {
        id: "c1",
        name: "cron",
        arguments: JSON.stringify({ action: "add", message: "Fasting blood test at 9", at, tz: "UTC" }),
      },
      {
        workspace: loaded.paths.workspace,
        restrictToWorkspace: true,
        builtinSkills: BUILTIN_SKILLS_DIR,
        sessionKey: "telegram:501:501",
        actor: ANNA,
        origin: { channel: "telegram", chatId: "501" },
        archive: agent.archive,
        config: loaded.config,
      },
    );
    expect(reply).toMatch(/^Added job #1/);
    expect(agent.archive.db).toBe(db);

    // routines.reloadIfChanged() (the poll) is never called: only the notice can arm the timer.
    await vi.waitFor(
      () =>
        expect(db.prepare("SELECT chat_id, text FROM gateway_outbox").all()).toEqual([
          expect.objectContaining({ chat_id: "501" }),
        ]),
      { timeout: 8_000, interval: 100 },
    );
  });

  it("re-arms the scheduler for a medication's times added through the agent's family_record tool", async () => {
    const home = tempHome("medbot-one-db-med-");
    writeConfig(home, {
      channels: { telegram: { enabled: true, token: "123:abc", allowFrom: ["501"] } },
      people: { anna: { identities: ["telegram:501"], members: "*", timezone: "UTC" } },
      reminders: { deliverTo: { mum: ["telegram:501"] } },
    });
    const loaded = loadConfig({ configPath: path.join(home, "config.json") }, {});
    const logger = silentLogger();
    const { db, agent } = openGatewayAgent(loaded, logger);
    stops.push(() => {
      agent.close();
      db.close();
    });
    const context: ToolContext = {
      workspace: loaded.paths.workspace,
      restrictToWorkspace: true,
      builtinSkills: BUILTIN_SKILLS_DIR,
      sessionKey: "telegram:501:501",
      actor: ANNA,
      origin: { channel: "telegram", chatId: "501" },
      archive: agent.archive,
      config: loaded.config,
    };
    const record = (args: Record<string, unknown>, actor: Actor = ANNA) =>
      runToolCall(
        [familyRecord],
        { id: "r", name: "family_record", arguments: JSON.stringify(args) },
        { ...context, actor },
      );
    expect(await record({ action: "add_member", text: "mum" }, hostOwner("test"))).toMatch(/mum/);
    const clock = new FakeClock(new Date());
    const at8 = () => clock.armed().filter((at) => at.toISOString().endsWith("T08:00:00.000Z"));
    const routines = startRoutines({ ...loaded, db, agent, logger, clock, hostTimeZone: "UTC" });
    stops.push(() => routines.stop());
    expect(at8()).toEqual([]);

    const added = await record({
      action: "add",
      member: "mum",
      kind: "medication",
      text: "amlodipine",
      dose: "5 mg",
      times: ["08:00"],
    });
    expect(added).toMatch(/^Saved for mum/);
    // No poll: the archive's commit notice alone re-armed the timer for 08:00.
    expect(at8()).toHaveLength(1);
  });
});
