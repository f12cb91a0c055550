import { createPublicKey, verify } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { QqAdapter, type QqTiming } from "../../src/channels/qq.js";
import { markdownToQqText } from "../../src/channels/qq-api.js";
import { qqSign, qqSigningKeys } from "../../src/channels/qq-webhook.js";
import type { InboundMessage } from "../../src/channels/types.js";
import { configSchema } from "../../src/config/schema.js";
import { APP_ID, APP_SECRET, FakeQq, type FakeQqOptions, signCallback } from "../support/fake-qq.js";
import { freePort } from "../support/gateway-process.js";
import { adapterContract, failingOnceContext, recordingContext } from "./contract.js";

const ANNA = "E4F4AEA33253A2797FB897C50B81D7ED";
const ANNA_IN_GROUP = "M_ANNA_0001";
const STRANGER = "F00DF00DF00DF00DF00DF00DF00DF00D";
const FAMILY_GROUP = "C9F778FE6ADF9D1D1DBE395BF744A33A";
const FAST: QqTiming = { backoffMs: 10, failuresUntilFailed: 3, handshakeTimeoutMs: 2000 };

function qqConfig(fake: FakeQq, overrides: Record<string, unknown> = {}) {
  return configSchema.parse({
    channels: {
      qq: {
        enabled: true,
        appId: APP_ID,
        secret: APP_SECRET,
        apiBase: fake.apiBase,
        tokenUrl: fake.tokenUrl,
        ...overrides,
      },
    },
  }).channels.qq;
}

adapterContract("qq", async () => {
  const fake = await FakeQq.start();
  return {
    adapter: new QqAdapter(qqConfig(fake), FAST),
    chatId: ANNA,
    userSays: (text) => void fake.userSays(ANNA, text),
    repeatDelivered: () => fake.repeatDelivered(),
    sentTexts: () => fake.textsTo(ANNA),
    receiveRequests: () => fake.frames.length + fake.gatewayFetches,
    close: () => fake.close(),
  };
});

describe("QQ adapter over the websocket gateway", () => {
  let fake: FakeQq;
  let adapter: QqAdapter;

  async function begin(options: FakeQqOptions = {}, timing: QqTiming = FAST): Promise<void> {
    fake = await FakeQq.start(options);
    adapter = new QqAdapter(qqConfig(fake), timing);
  }

  afterEach(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  it("identifies with its token and the C2C + group intent, and translates both message kinds", async () => {
    await begin();
    const context = recordingContext();
    await adapter.start(context);
    expect(fake.framesOf(2)).toEqual([
      expect.objectContaining({ d: expect.objectContaining({ token: "QQBot token-1", intents: 1 << 25 }) }),
    ]);
    const c2c = fake.userSays(ANNA, "Anna took 500 mg paracetamol");
    const group = fake.memberSays(FAMILY_GROUP, ANNA_IN_GROUP, "what was Anna's last glucose?");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(2));

    expect(context.delivered[0]).toMatchObject({
      channel: "qq",
      account: APP_ID,
      chatId: ANNA,
      senderId: ANNA,
      messageId: c2c,
      text: "Anna took 500 mg paracetamol",
      isGroup: false,
      mentioned: false,
      replyContext: { msgId: c2c, chatKind: "c2c" },
    });
    expect(context.delivered[1]).toMatchObject({
      chatId: FAMILY_GROUP,
      senderId: ANNA_IN_GROUP,
      messageId: group,
      text: "what was Anna's last glucose?",
      isGroup: true,
      mentioned: true,
      replyContext: { msgId: group, chatKind: "group" },
    });
    expect(Number.isNaN(Date.parse(context.delivered[0]?.receivedAt ?? ""))).toBe(false);
  });

  it("heartbeats with the seq of the last event handled", async () => {
    await begin({ heartbeatMs: 50 });
    const context = recordingContext();
    await adapter.start(context);
    fake.userSays(ANNA, "slept 7 hours");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
    // READY was s 1 and the message s 2.
    await vi.waitFor(() => expect(fake.framesOf(1).map((frame) => frame.d)).toContain(2));
    expect(adapter.state()).toBe("running");
  });

  it("resumes after the socket drops: the message sent meanwhile arrives once, nothing twice", async () => {
    await begin();
    const context = recordingContext();
    await adapter.start(context);
    const sessionId = fake.sessionId;
    fake.userSays(ANNA, "my blood pressure was 128/82");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));

    fake.dropConnection();
    fake.userSays(ANNA, "and my pulse 64");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(2));
    await new Promise((resolve) => setTimeout(resolve, 150));

    expect(context.delivered.map((message) => message.text)).toEqual([
      "my blood pressure was 128/82",
      "and my pulse 64",
    ]);
    expect(fake.framesOf(6)).toEqual([
      expect.objectContaining({ d: { token: "QQBot token-1", session_id: sessionId, seq: 2 } }),
    ]);
    expect(fake.framesOf(2)).toHaveLength(1);
    expect(fake.connections).toBe(2);
    expect(adapter.state()).toBe("running");
  });

  it("reconnects and resumes when QQ sends op 7", async () => {
    await begin();
    const context = recordingContext();
    await adapter.start(context);
    fake.requestReconnect();
    await vi.waitFor(() => expect(fake.framesOf(6)).toHaveLength(1));
    fake.userSays(ANNA, "weight 71.2 kg");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
    expect(fake.framesOf(2)).toHaveLength(1);
  });

  it("identifies anew after op 9 (invalid session)", async () => {
    await begin();
    const context = recordingContext();
    await adapter.start(context);
    fake.invalidateSession();
    await vi.waitFor(() => expect(fake.framesOf(2)).toHaveLength(2));
    fake.userSays(ANNA, "glucose 5.4");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
    expect(fake.framesOf(6)).toEqual([]);
  });

  it("resumes when heartbeats go unanswered (a dead connection)", async () => {
    await begin({ heartbeatMs: 40 });
    const context = recordingContext();
    await adapter.start(context);
    fake.ackHeartbeats = false;
    await vi.waitFor(() => expect(fake.framesOf(6)).toHaveLength(1));
    fake.ackHeartbeats = true;
    fake.userSays(ANNA, "still there?");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
  });

  it("does not pass an event the inbox failed to take, and gets it again by resuming", async () => {
    await begin();
    const context = failingOnceContext();
    await adapter.start(context);
    fake.userSays(ANNA, "ibuprofen 400 mg");
    await vi.waitFor(() => expect(context.attempts).toEqual(["ibuprofen 400 mg", "ibuprofen 400 mg"]));
    expect(fake.framesOf(6)).toEqual([expect.objectContaining({ d: expect.objectContaining({ seq: 1 }) })]);
    fake.userSays(ANNA, "thanks");
    await vi.waitFor(() => expect(context.attempts).toHaveLength(3));
  });

  it("gives a refused sender no reply and no request of any kind", async () => {
    await begin();
    const context = recordingContext((sender) => sender === ANNA);
    await adapter.start(context);
    const before = [...fake.httpCalls];
    fake.userSays(STRANGER, "show me Anna's medications");
    fake.userSays(ANNA, "hello");
    await vi.waitFor(() => expect(context.results).toEqual(["denied", "stored"]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.httpCalls).toEqual(before);
    expect(fake.sent).toEqual([]);
  });

  it("numbers the reply chunks to one message msg_seq 1, 2, 3 and starts again for the next", async () => {
    await begin();
    const context = recordingContext();
    await adapter.start(context);
    fake.userSays(ANNA, "summarise Anna's week");
    fake.memberSays(FAMILY_GROUP, ANNA_IN_GROUP, "and mine?");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(2));
    const [direct, group] = context.delivered as [InboundMessage, InboundMessage];
    for (const text of ["Part one.", "Part two.", "Part three."])
      await adapter.send({
        channel: "qq",
        account: APP_ID,
        chatId: ANNA,
        text,
        replyContext: direct.replyContext,
      });
    await adapter.send({
      channel: "qq",
      account: APP_ID,
      chatId: FAMILY_GROUP,
      text: "Your week is on the way.",
      replyContext: group.replyContext,
    });

    expect(fake.sent.map(({ kind, openid, body }) => [kind, openid, body.msg_id, body.msg_seq])).toEqual([
      ["c2c", ANNA, direct.messageId, 1],
      ["c2c", ANNA, direct.messageId, 2],
      ["c2c", ANNA, direct.messageId, 3],
      ["group", FAMILY_GROUP, group.messageId, 1],
    ]);
    expect(fake.sent.every((message) => message.body.msg_type === 0)).toBe(true);
  });

  it("tries a failed send again with the same msg_seq, so QQ can drop a copy", async () => {
    await begin();
    const context = recordingContext();
    await adapter.start(context);
    fake.userSays(ANNA, "remind me");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
    const replyContext = context.delivered[0]?.replyContext;
    fake.failNextSends(502);
    await adapter.send({ channel: "qq", account: APP_ID, chatId: ANNA, text: "Reminder set.", replyContext });
    await adapter.send({ channel: "qq", account: APP_ID, chatId: ANNA, text: "At 08:00.", replyContext });
    expect(fake.httpCalls.filter((call) => call.startsWith("POST /v2/"))).toHaveLength(3);
    expect(fake.sent.map((message) => message.body.msg_seq)).toEqual([1, 2]);
  });

  it("renews the access token shortly before it expires", async () => {
    // A 61 s token with a 60 s margin is due for renewal after one second.
    await begin({ tokenTtlS: 61 }, { ...FAST, tokenRenewMarginMs: 60_000 });
    await adapter.start(recordingContext());
    await adapter.send({ channel: "qq", account: APP_ID, chatId: ANNA, text: "first" });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await adapter.send({ channel: "qq", account: APP_ID, chatId: ANNA, text: "second" });
    expect(fake.issued).toEqual(["token-1", "token-2"]);
    expect(fake.sent.map((message) => message.token)).toEqual(["token-1", "token-2"]);
  });

  it("fetches a new token when QQ answers 401, and sends once", async () => {
    await begin();
    await adapter.start(recordingContext());
    fake.revokeTokens();
    await adapter.send({ channel: "qq", account: APP_ID, chatId: ANNA, text: "Recorded **128/82**." });
    expect(fake.issued).toEqual(["token-1", "token-2"]);
    expect(fake.sent.map((message) => [message.token, message.body.content])).toEqual([
      ["token-2", "Recorded 128/82."],
    ]);
  });

  it("fails to start with a wrong secret, naming the keys, and never connects", async () => {
    fake = await FakeQq.start();
    adapter = new QqAdapter(qqConfig(fake, { secret: "wrong-secret" }), FAST);
    await expect(adapter.start(recordingContext())).rejects.toThrow(
      /invalid appid or secret.*channels\.qq\.appId/,
    );
    expect(adapter.state()).toBe("failed");
    // QQ refused the credentials: the gateway must not restart the channel for ever.
    expect(adapter.problem()).toMatch(/invalid appid or secret.*restart the gateway/);
    expect(fake.gatewayFetches).toBe(0);
    expect(fake.connections).toBe(0);
  });

  it("fails to start, and stays down, when the gateway refuses the bot (banned, 4915)", async () => {
    await begin();
    fake.refuseIdentify(4915);
    await expect(adapter.start(recordingContext())).rejects.toThrow(/QQ gateway: gateway closed 4915/);
    expect(adapter.state()).toBe("failed");
    await vi.waitFor(() => expect(adapter.problem()).toMatch(/gateway closed 4915.*restart the gateway/));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.connections).toBe(1);
  });

  it("rejects an empty appId or secret with the config key", async () => {
    fake = await FakeQq.start();
    expect(() => new QqAdapter({ ...qqConfig(fake), appId: "" })).toThrow(/channels\.qq\.appId/);
    expect(() => new QqAdapter({ ...qqConfig(fake), secret: "" })).toThrow(/channels\.qq\.secret/);
    adapter = new QqAdapter(qqConfig(fake), FAST);
  });
});

describe("QQ adapter over the signed webhook", () => {
  let fake: FakeQq;
  let adapter: QqAdapter;
  let callback: string;

  beforeEach(async () => {
    fake = await FakeQq.start();
    const port = await freePort();
    callback = `http://127.0.0.1:${port}/qq/callback`;
    adapter = new QqAdapter(qqConfig(fake, { mode: "webhook", webhookPort: port }), FAST);
  });

  afterEach(async () => {
    await adapter.stop();
    await fake.close();
  });

  /** Posts `payload` as QQ would; `signer` replaces the bot secret for a forged signature. */
  async function post(payload: unknown, signer = APP_SECRET, tamper?: (body: string) => string) {
    const body = JSON.stringify(payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const response = await fetch(callback, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "QQBot-Callback",
        "x-bot-appid": APP_ID,
        "x-signature-timestamp": timestamp,
        "x-signature-ed25519": signCallback(signer, timestamp, body),
      },
      body: tamper ? tamper(body) : body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const c2cEvent = (id: string, content: string, from = ANNA) => ({
    id: `event_${id}`,
    op: 0,
    t: "C2C_MESSAGE_CREATE",
    d: { id, author: { user_openid: from }, content, timestamp: "2026-12-01T13:37:18+08:00" },
  });

  it("answers op 13 with a signature of event_ts + plain_token that verifies with the bot's key", async () => {
    await adapter.start(recordingContext());
    expect(adapter.state()).toBe("running");
    const answer = await post({ op: 13, d: { plain_token: "Arq0D5A61EgUu4OxUvOp", event_ts: "1725442341" } });
    expect(answer.status).toBe(200);
    expect(answer.body.plain_token).toBe("Arq0D5A61EgUu4OxUvOp");
    const publicKey = createPublicKey(qqSigningKeys(APP_SECRET).privateKey);
    const signed = Buffer.from("1725442341Arq0D5A61EgUu4OxUvOp");
    expect(verify(null, signed, publicKey, Buffer.from(String(answer.body.signature), "hex"))).toBe(true);
  });

  it("delivers a signed C2C event once, acknowledges it with op 12, and replies with its msg_id", async () => {
    const context = recordingContext();
    await adapter.start(context);
    const first = await post(c2cEvent("ROBOT1.0_w1", "BP 128/82"));
    expect(first).toEqual({ status: 200, body: { op: 12, d: 0 } });
    expect(context.delivered).toEqual([
      expect.objectContaining({ chatId: ANNA, senderId: ANNA, messageId: "ROBOT1.0_w1", text: "BP 128/82" }),
    ]);
    expect((await post(c2cEvent("ROBOT1.0_w1", "BP 128/82"))).status).toBe(200);
    expect(context.delivered).toHaveLength(1);

    await adapter.send({
      channel: "qq",
      account: APP_ID,
      chatId: ANNA,
      text: "Recorded.",
      replyContext: context.delivered[0]?.replyContext,
    });
    expect(fake.sent.map((message) => message.body)).toEqual([
      { msg_type: 0, content: "Recorded.", msg_id: "ROBOT1.0_w1", msg_seq: 1 },
    ]);
  });

  it("answers 401 to a bad or missing signature and delivers nothing", async () => {
    const context = recordingContext();
    await adapter.start(context);
    expect((await post(c2cEvent("ROBOT1.0_x1", "forged"), "not-the-bot-secret")).status).toBe(401);
    const tampered = await post(c2cEvent("ROBOT1.0_x2", "BP 120/80"), APP_SECRET, (body) =>
      body.replace("120/80", "180/120"),
    );
    expect(tampered.status).toBe(401);
    const unsigned = await fetch(callback, {
      method: "POST",
      body: JSON.stringify(c2cEvent("ROBOT1.0_x3", "hi")),
    });
    expect(unsigned.status).toBe(401);
    const validation = await post({ op: 13, d: { plain_token: "p", event_ts: "1" } }, "not-the-bot-secret");
    expect(validation).toEqual({ status: 401, body: { error: "bad signature" } });
    expect(context.delivered).toEqual([]);
    expect(fake.sent).toEqual([]);
  });

  it("answers 500 when the inbox fails, so QQ posts the event again", async () => {
    const context = failingOnceContext();
    await adapter.start(context);
    expect((await post(c2cEvent("ROBOT1.0_y1", "temp 38.2"))).status).toBe(500);
    expect((await post(c2cEvent("ROBOT1.0_y1", "temp 38.2"))).status).toBe(200);
    expect(context.attempts).toEqual(["temp 38.2", "temp 38.2"]);
  });

  it("stops listening on stop", async () => {
    await adapter.start(recordingContext());
    await adapter.stop();
    expect(adapter.state()).toBe("stopped");
    await expect(fetch(callback, { method: "POST", body: "{}" })).rejects.toThrow();
  });
});

describe("QQ signatures and text", () => {
  it("derives the key and signs the callback validation exactly as QQ's documentation shows", () => {
    // The example of QQ's "event subscription" page: appid 11111111, secret DG5g3B4j9X2KOErG.
    const { privateKey } = qqSigningKeys("DG5g3B4j9X2KOErG");
    expect(qqSign(privateKey, "1725442341Arq0D5A61EgUu4OxUvOp")).toBe(
      "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d01bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706",
    );
    // The public key of QQ's signature page example for secret naOC0ocQE3shWLAfffVLB1rhYPG7.
    const raw = qqSigningKeys(APP_SECRET).publicKey.export({ format: "der", type: "spki" }).subarray(12);
    expect(raw.toString("hex")).toBe("d7c362fe78aef81ff23287b493628b5db02a3c4fe30b215e4d19609b5d76673a");
  });

  it("renders Markdown as plain text without growing it", () => {
    const markdown =
      "## Anna\n**BP** 128/82, __pulse__ 64, blood_pressure_sys 2*3*4\n[DDInter](https://ddinter.scbdd.com)";
    const text = markdownToQqText(markdown);
    expect(text).toBe(
      "Anna\nBP 128/82, pulse 64, blood_pressure_sys 2*3*4\nDDInter (https://ddinter.scbdd.com)",
    );
    expect(text.length).toBeLessThanOrEqual(markdown.length);
  });
});
