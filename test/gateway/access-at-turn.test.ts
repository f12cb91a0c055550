// Access is asked again when a stored message's turn runs: a sender revoked while their messages wait gets
// none of them answered, live (pairing revoke) and across a restart (allowFrom, people); narrowed grants
// apply to waiting messages; and every ordinary reply is in the audit log as metadata, never its text.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createAccessGate } from "../../src/access/gate.js";
import { PairingStore } from "../../src/access/pairing.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { TelegramAdapter } from "../../src/channels/telegram.js";
import { configSchema } from "../../src/config/schema.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { silentLogger } from "../../src/log.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";
import { inboxRows, ScriptedAgent, SETTINGS } from "./harness.js";

const ANNA = { id: 501, first_name: "Anna" };
const BORIS = { id: 502, first_name: "Boris" };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The database file of a throwaway data folder, so `medbot audit` can read it afterwards. */
function instanceDatabase(): { home: string; file: string } {
  const home = tempHome();
  cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
  fs.writeFileSync(path.join(home, "config.json"), "{}\n", { mode: 0o600 });
  const workspace = path.join(home, "workspace");
  fs.mkdirSync(workspace, { recursive: true, mode: 0o700 });
  return { home, file: path.join(workspace, "medbot.db") };
}

/** A real gateway: the real access gate over `config`, the Telegram adapter against the fake Bot API. */
async function startTelegramGateway(
  fake: FakeTelegram,
  file: string,
  agent: ScriptedAgent,
  telegram: Record<string, unknown>,
  people: Record<string, unknown> = {},
): Promise<{ gateway: Gateway; db: Db }> {
  const config = configSchema.parse({
    channels: { telegram: { enabled: true, token: fake.token, apiRoot: fake.apiRoot, ...telegram } },
    people,
  });
  const db = openDatabase(file);
  const gateway = new Gateway({
    settings: SETTINGS,
    db,
    agent,
    gate: createAccessGate(config, db),
    channels: [new TelegramAdapter(config.channels.telegram, { pollTimeoutS: 1, backoffMs: 10 })],
    logger: silentLogger(),
    backoff: { baseMs: 5, maxMs: 40 },
    watchIntervalMs: 10,
    shutdownDeadlineMs: 20,
    random: () => 1,
  });
  await gateway.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await gateway.stop();
    db.close();
  };
  cleanups.push(stop);
  return { gateway, db };
}

async function fakeTelegram(): Promise<FakeTelegram> {
  const fake = await FakeTelegram.start();
  cleanups.push(() => fake.close());
  return fake;
}

const revokedWhileWaiting = (db: Db) =>
  listAudit(db)
    .filter((entry) => entry.action === "access.denied")
    .map((entry) => [entry.entityId, entry.note]);

describe("a sender revoked while their messages wait", () => {
  it("gets none of them answered once pairing is revoked, not even the one running", async () => {
    const fake = await fakeTelegram();
    const { file } = instanceDatabase();
    const agent = new ScriptedAgent(["what is dad's latest lab result?"]);
    const { gateway, db } = await startTelegramGateway(fake, file, agent, { dmPolicy: "pairing" });
    const pairing = new PairingStore(db);
    pairing.approve(pairing.codeFor("telegram", String(ANNA.id))!);

    fake.userSays(ANNA.id, ANNA, "what is dad's latest lab result?");
    await vi.waitFor(() => expect(agent.isHolding("what is dad's latest lab result?")).toBe(true));
    fake.userSays(ANNA.id, ANNA, "and his medications?");
    fake.userSays(ANNA.id, ANNA, "and his allergies?");
    await vi.waitFor(() => expect(inboxRows(db)).toHaveLength(3));

    pairing.revoke(`telegram:${ANNA.id}`);
    agent.release("what is dad's latest lab result?");

    await vi.waitFor(() => expect(gateway.report().queue).toEqual({ pending: 0, unsent: 0 }));
    expect(agent.texts()).toEqual(["what is dad's latest lab result?"]);
    expect(fake.sentTo(ANNA.id)).toEqual([]);
    expect(inboxRows(db).map((row) => row.status)).toEqual(["done", "done", "done"]);
    expect(revokedWhileWaiting(db)).toEqual([
      ["501", "telegram: revoked while waiting"],
      ["501", "telegram: revoked while waiting"],
      ["501", "telegram: revoked while waiting"],
    ]);
  });

  it("after a restart: a sender removed from allowFrom is dropped, one with narrowed grants runs with today's", async () => {
    const fake = await fakeTelegram();
    const { file } = instanceDatabase();
    const held = ["how is dad's blood pressure?", "show dad's lab report"];
    const before = new ScriptedAgent(held);
    const yesterday = { anna: { identities: ["telegram:501"], members: ["dad", "grandma"] } };
    const first = await startTelegramGateway(fake, file, before, { allowFrom: ["501", "502"] }, yesterday);
    fake.userSays(ANNA.id, ANNA, held[0]!);
    fake.userSays(BORIS.id, BORIS, held[1]!);
    await vi.waitFor(() => expect(before.calls).toHaveLength(2));
    expect(before.calls.find((call) => call.text === held[0])?.actor?.grants).toEqual(["dad", "grandma"]);
    // Stopped mid-turn: both rows stay pending for the next start.
    await first.gateway.stop();
    expect(inboxRows(first.db).map((row) => row.status)).toEqual(["pending", "pending"]);
    first.db.close();

    // The owner took Boris out of allowFrom and narrowed Anna to grandma, then restarted.
    const after = new ScriptedAgent();
    const today = { anna: { identities: ["telegram:501"], members: ["grandma"] } };
    const second = await startTelegramGateway(fake, file, after, { allowFrom: ["501"] }, today);
    await vi.waitFor(() => expect(second.gateway.report().queue).toEqual({ pending: 0, unsent: 0 }));
    expect(after.calls.map((call) => [call.text, call.actor?.person, call.actor?.grants])).toEqual([
      [held[0], "anna", ["grandma"]],
    ]);
    expect(fake.sentTo(BORIS.id)).toEqual([]);
    await vi.waitFor(() =>
      expect(fake.sentTo(ANNA.id).map((params) => params.text)).toEqual([`re: ${held[0]}`]),
    );
    expect(revokedWhileWaiting(second.db)).toEqual([["502", "telegram: revoked while waiting"]]);
  });
});

describe("ordinary replies in the audit log", () => {
  it("records who, which chat and which outbox row, never the text, and the chain verifies", async () => {
    const fake = await fakeTelegram();
    const { home, file } = instanceDatabase();
    const agent = new ScriptedAgent([], () => "Dad's potassium was 5.9 mmol/L on 2026-11-20.");
    const people = { anna: { identities: ["telegram:501"], members: ["dad"] } };
    const { gateway, db } = await startTelegramGateway(fake, file, agent, { allowFrom: ["501"] }, people);
    fake.userSays(ANNA.id, ANNA, "dad's potassium?");
    await vi.waitFor(() => expect(fake.sentTo(ANNA.id)).toHaveLength(1));
    await vi.waitFor(() => expect(gateway.report().queue).toEqual({ pending: 0, unsent: 0 }));

    const outbox = db.prepare("SELECT id FROM gateway_outbox").all() as Array<{ id: number }>;
    const entries = listAudit(db);
    expect(entries.map((e) => [e.actor, e.channel, e.action, e.entity, e.entityId, e.note])).toEqual([
      ["anna", "telegram", "reply.send", "chat", "telegram:501", `outbox:${outbox[0]!.id}`],
    ]);
    expect(entries[0]!.messageId).toBe("1");
    expect(JSON.stringify(entries)).not.toMatch(/potassium|5\.9/);

    const verified = await runMedbot(["audit", "--verify"], { home });
    expect(verified.code, verified.stderr).toBe(0);
  });
});
