// Issue 12: a message longer than gateway.maxInboundChars is answered with a short note and never reaches
// the model; only its length is kept, and the audit records it as metadata.
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { freePort, spawnGateway } from "../support/gateway-process.js";
import { gatewayTestScope } from "../support/gateway-scope.js";
import { fakeProviderConfig, tempHome, writeConfig } from "../support/medbot-cli.js";

const ANNA = { id: 811, first_name: "Anna" };
const { processes, cleanups } = gatewayTestScope();

/** A running gateway with Telegram (its channel settings merged in), fake Telegram and a model that says "noted". */
async function startTelegramGateway(telegramSettings: Record<string, unknown> = {}) {
  const telegram = await FakeTelegram.start();
  const model = await FakeOpenAI.start();
  cleanups.push(
    () => telegram.close(),
    () => model.close(),
  );
  model.onRequest(() => ({ content: "noted" }));
  const home = tempHome("medbot-inbound-limit-");
  cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
  writeConfig(home, {
    ...fakeProviderConfig(model.url),
    channels: {
      telegram: { ...telegram.channelConfig([String(ANNA.id)]), ...telegramSettings },
    },
    gateway: { port: await freePort() },
  });
  const gateway = spawnGateway(home);
  processes.push(gateway);
  const replies = () => telegram.sentTo(ANNA.id).map((params) => String(params.text));
  return { telegram, model, home, gateway, replies };
}

describe("inbound size limit", () => {
  it("takes a channel's own limit (channels.<name>.maxInboundChars) over the gateway's", async () => {
    const { telegram, model, gateway, replies } = await startTelegramGateway({ maxInboundChars: 500 });
    telegram.userSays(ANNA.id, ANNA, `pulse ${"70 ".repeat(200)}`);
    telegram.userSays(ANNA.id, ANNA, "and my pulse is 70");
    await vi.waitFor(() => expect(replies()).toHaveLength(2), { timeout: 20_000, interval: 20 });
    expect(replies()).toEqual([
      "That message is too long for me (606 characters; the limit is 500). Please send it in parts or as a file.",
      "noted",
    ]);
    expect(model.requests).toHaveLength(1);
    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);
  }, 40_000);

  it("answers a 20,000-character message with a short note, sends nothing to the model, keeps no text", async () => {
    const { telegram, model, home, gateway, replies } = await startTelegramGateway();

    const longNote = `my blood pressure diary ${"120/80 ".repeat(2_857)}`.slice(0, 20_000);
    telegram.userSays(ANNA.id, ANNA, longNote);
    telegram.userSays(ANNA.id, ANNA, "and my pulse is 70");
    await vi.waitFor(() => expect(replies()).toHaveLength(2), { timeout: 20_000, interval: 20 });

    expect(replies()).toEqual([
      "That message is too long for me (20,000 characters; the limit is 16,000). Please send it in parts or as a file.",
      "noted",
    ]);
    expect(model.requests).toHaveLength(1);
    expect(JSON.stringify(model.requests[0]!.body)).not.toContain("120/80");
    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);

    const db = new Database(path.join(home, "workspace", "medbot.db"), { readonly: true });
    try {
      const inbox = db.prepare("SELECT status, message FROM gateway_inbox ORDER BY id").all() as Array<{
        status: string;
        message: string;
      }>;
      expect(inbox.map((row) => row.status)).toEqual(["done", "done"]);
      expect(inbox[0]!.message).not.toContain("120/80");
      const audit = db.prepare("SELECT action, note FROM audit_log WHERE action = 'message.too_long'").all();
      expect(audit).toEqual([
        { action: "message.too_long", note: "telegram: 20000 characters, limit 16000" },
      ]);
    } finally {
      db.close();
    }
  }, 40_000);
});
