// Issue 4's proof: `medbot gateway` is killed with SIGKILL in the middle of a burst of 200 Telegram messages
// from ten chats, restarted, and every message is answered exactly once, in each chat's order.
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import { FakeOpenAI, type RecordedRequest } from "../support/fake-openai.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { freePort, health, spawnGateway } from "../support/gateway-process.js";
import { gatewayTestScope } from "../support/gateway-scope.js";
import { fakeProviderConfig, tempHome, writeConfig } from "../support/medbot-cli.js";

const CHATS = 10;
const PER_CHAT = 20;
const SENDERS = Array.from({ length: CHATS }, (_, i) => ({ id: 601 + i, first_name: `Relative${i}` }));

const { processes, cleanups } = gatewayTestScope();

/** The token of a burst message, "m-<chat>-<n>", found in a text. */
function tokenIn(text: string): string | undefined {
  return /m-\d+-\d+/.exec(text)?.[0];
}

/** Replies the gateway in `home` recorded as sent (each burst reply is one chunk), read beside the live process. */
function recordedSent(home: string): number {
  const db = new Database(path.join(home, "workspace", "medbot.db"), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT count(*) AS n FROM gateway_outbox WHERE sent_at IS NOT NULL").get();
    return (row as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The model answers "echo: <token of the last user message>" after a short delay, so turns overlap. */
function echoToken(request: RecordedRequest) {
  const last = [...request.body.messages].reverse().find((message) => message.role === "user");
  return { delayMs: 15, reply: { content: `echo: ${tokenIn(last?.content ?? "") ?? "?"}` } };
}

describe("medbot gateway under a burst", () => {
  it("answers each of 200 messages from 10 chats exactly once, in order, across a kill -9 and restart", async () => {
    const telegram = await FakeTelegram.start();
    const model = await FakeOpenAI.start();
    cleanups.push(
      () => telegram.close(),
      () => model.close(),
    );
    model.onRequest(echoToken);
    const port = await freePort();
    const home = tempHome("medbot-gateway-burst-");
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    writeConfig(home, {
      ...fakeProviderConfig(model.url),
      channels: {
        telegram: telegram.channelConfig(SENDERS.map((sender) => String(sender.id))),
      },
      gateway: { port },
    });

    // Sends Telegram took; the ones the fake refused (429) are not replies.
    const replies = () => telegram.callsOf("sendMessage").filter((call) => call.status === 200);

    const first = spawnGateway(home);
    processes.push(first);
    for (let n = 0; n < PER_CHAT; n++)
      for (const sender of SENDERS)
        telegram.userSays(sender.id, sender, `note m-${sender.id}-${n} for today`);
    await vi.waitFor(() => expect(replies().length).toBeGreaterThanOrEqual(40), {
      timeout: 20_000,
      interval: 10,
    });

    // Kill while no accepted send is waiting for its commit. From now on Telegram refuses every send with
    // a 429 (retry_after 30 s), so each chat's next send waits; chats send independently, so wait until the
    // outbox has recorded every send Telegram took. (A kill between Telegram accepting a chunk and that
    // commit may repeat the chunk: see gateway.ts.)
    telegram.failNext(
      "sendMessage",
      ...Array.from({ length: 1000 }, () => ({ status: 429, retryAfter: 30 })),
    );
    await vi.waitFor(() => expect(recordedSent(home)).toBe(replies().length), {
      timeout: 20_000,
      interval: 5,
    });
    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();
    telegram.clearFaults();
    const answeredBeforeKill = replies().length;
    expect(answeredBeforeKill).toBeGreaterThanOrEqual(40);
    expect(answeredBeforeKill).toBeLessThan(CHATS * PER_CHAT);

    // Telegram also hands the restarted gateway every update it had already confirmed: all are duplicates.
    telegram.redeliverConfirmedOnce();
    const second = spawnGateway(home);
    processes.push(second);
    await vi.waitFor(
      async () => {
        expect(new Set(replies().map((call) => tokenIn(String(call.params.text))))).toHaveProperty(
          "size",
          CHATS * PER_CHAT,
        );
        expect(await health(port)).toEqual({
          status: "ok",
          channels: { telegram: "running" },
          refused: { telegram: 0 },
          queue: { pending: 0, unsent: 0 },
        });
      },
      { timeout: 30_000, interval: 50 },
    );

    expect(second.log()).toContain("resuming unfinished messages");
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);

    // Exactly one reply per message, each chat's replies in the order its messages were written.
    const all = replies();
    expect(all).toHaveLength(CHATS * PER_CHAT);
    for (const sender of SENDERS) {
      const texts = all
        .filter((call) => String(call.params.chat_id) === String(sender.id))
        .map((call) => String(call.params.text));
      expect(texts).toEqual(Array.from({ length: PER_CHAT }, (_, n) => `echo: m-${sender.id}-${n}`));
    }
  }, 60_000);
});
