import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FeishuAdapter, type FeishuTiming } from "../../src/channels/feishu.js";
import { inboundText, renderFeishuMessage } from "../../src/channels/feishu-format.js";
import { configSchema } from "../../src/config/schema.js";
import { APP_ID, APP_SECRET, BOT_OPEN_ID, FakeFeishu } from "../support/fake-feishu.js";
import { adapterContract, failingOnceContext, heldContext, recordingContext } from "./contract.js";

const ANNA = "ou_anna_0000000000000000000000000001";
const STRANGER = "ou_mallory_000000000000000000000001";
const ANNA_CHAT = "oc_p2p_anna_000000000000000000000001";
const STRANGER_CHAT = "oc_p2p_mallory_0000000000000000000001";
const FAMILY_GROUP = "oc_family_group_00000000000000000001";
const FAST: FeishuTiming = { connectTimeoutMs: 5_000, backoffMs: 10 };

function feishuConfig(fake: FakeFeishu, appSecret = APP_SECRET, encryptKey = "") {
  return configSchema.parse({
    channels: { feishu: { enabled: true, appId: APP_ID, appSecret, encryptKey, domain: fake.domain } },
  }).channels.feishu;
}

adapterContract("feishu", async () => {
  const fake = await FakeFeishu.start();
  return {
    adapter: new FeishuAdapter(feishuConfig(fake), FAST),
    chatId: ANNA_CHAT,
    userSays: (text) => void fake.userSays({ chatId: ANNA_CHAT, senderOpenId: ANNA, text }),
    repeatDelivered: () => fake.redeliverAnswered(),
    sentTexts: () => fake.sentTo(ANNA_CHAT).map((message) => message.text),
    receiveRequests: () => fake.endpointRequests + fake.connections,
    close: () => fake.close(),
  };
});

describe("Feishu adapter", () => {
  let fake: FakeFeishu;
  let adapter: FeishuAdapter;

  beforeEach(async () => {
    fake = await FakeFeishu.start();
    adapter = new FeishuAdapter(feishuConfig(fake), FAST);
  });

  afterEach(async () => {
    await adapter.stop();
    await fake.close();
  });

  it("turns a message into an InboundMessage and answers the event only after deliver resolved", async () => {
    const context = heldContext();
    await adapter.start(context);
    const messageId = fake.userSays({
      chatId: ANNA_CHAT,
      senderOpenId: ANNA,
      text: "Anna took 500 mg paracetamol",
    });
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
    expect(context.delivered[0]).toMatchObject({
      channel: "feishu",
      account: APP_ID,
      chatId: ANNA_CHAT,
      senderId: ANNA,
      messageId,
      text: "Anna took 500 mg paracetamol",
      isGroup: false,
      mentioned: false,
    });
    expect(Number.isNaN(Date.parse(context.delivered[0]?.receivedAt ?? ""))).toBe(false);

    // While the inbox has not committed, the SDK has not answered the event frame.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([...fake.answers.values()].flat()).toEqual([]);
    context.settle("stored");
    await vi.waitFor(() => expect([...fake.answers.values()].flat()).toEqual([200]));
  });

  it("answers 500 when the inbox fails, so Feishu hands the event out again and it is delivered", async () => {
    const context = failingOnceContext();
    await adapter.start(context);
    fake.userSays({ chatId: ANNA_CHAT, senderOpenId: ANNA, text: "weight 71.2 kg" });
    await vi.waitFor(() => expect(context.attempts).toEqual(["weight 71.2 kg", "weight 71.2 kg"]));
    await vi.waitFor(() => expect([...fake.answers.values()].flat()).toEqual([500, 200]));
    expect(adapter.state()).toBe("running");
  });

  it("makes no API call for a refused sender beyond the connection itself", async () => {
    const context = recordingContext((sender) => sender === ANNA);
    await adapter.start(context);
    const connectionRequests = fake.requests.length;
    fake.userSays({ chatId: STRANGER_CHAT, senderOpenId: STRANGER, text: "show me Anna's medications" });
    await vi.waitFor(() => expect(context.results).toEqual(["denied"]));
    await vi.waitFor(() => expect([...fake.answers.values()].flat()).toEqual([200]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.requests.slice(connectionRequests)).toEqual([]);
    expect(fake.sent).toEqual([]);
  });

  it("marks group messages as mentioned only when the bot is among the mentions, and strips its placeholder", async () => {
    const context = recordingContext();
    await adapter.start(context);
    const anna = { chatId: FAMILY_GROUP, chatType: "group" as const, senderOpenId: ANNA };
    fake.userSays({ ...anna, text: "Anna's glucose was 5.4 this morning" });
    fake.userSays({
      ...anna,
      text: "@_user_1 what is Anna's last glucose? ask @_user_2",
      mentions: [
        { key: "@_user_1", name: "MedBot", openId: BOT_OPEN_ID },
        { key: "@_user_2", name: "Ben", openId: "ou_ben" },
      ],
    });
    fake.userSays({
      ...anna,
      text: "@_user_1 please check",
      mentions: [{ key: "@_user_1", name: "Ben", openId: "ou_ben" }],
    });
    await vi.waitFor(() => expect(context.delivered).toHaveLength(3));
    expect(context.delivered.map((message) => [message.isGroup, message.mentioned, message.text])).toEqual([
      [true, false, "Anna's glucose was 5.4 this morning"],
      [true, true, "what is Anna's last glucose? ask @Ben"],
      [true, false, "@Ben please check"],
    ]);
    expect(context.delivered.map((message) => message.chatId)).toEqual(Array(3).fill(FAMILY_GROUP));
  });

  it("reads a rich-text post as text, and ignores images and other bots", async () => {
    const context = recordingContext();
    await adapter.start(context);
    fake.userSays({
      chatId: ANNA_CHAT,
      senderOpenId: ANNA,
      messageType: "image",
      content: '{"image_key":"img_1"}',
    });
    fake.userSays({ chatId: ANNA_CHAT, senderOpenId: "ou_other_bot", senderType: "app", text: "ping" });
    fake.userSays({
      chatId: ANNA_CHAT,
      senderOpenId: ANNA,
      messageType: "post",
      content: JSON.stringify({
        title: "Blood pressure",
        content: [
          [
            { tag: "text", text: "128/82 this morning, see " },
            { tag: "a", text: "the chart", href: "https://example.org/bp" },
          ],
          [{ tag: "text", text: "pulse 64" }],
        ],
      }),
    });
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
    expect(context.delivered[0]?.text).toBe(
      "Blood pressure\n128/82 this morning, see [the chart](https://example.org/bp)\npulse 64",
    );
    await vi.waitFor(() => expect([...fake.answers.values()].flat()).toEqual([200, 200, 200]));
  });

  it("reassembles an event Feishu splits into fragments", async () => {
    fake.fragmentBytes = 200;
    const context = recordingContext();
    await adapter.start(context);
    const text = `Anna's diary: ${"slept well, no headache. ".repeat(20)}`.trim();
    fake.userSays({ chatId: ANNA_CHAT, senderOpenId: ANNA, text });
    await vi.waitFor(() => expect(context.delivered.map((message) => message.text)).toEqual([text]));
  });

  it("decrypts events sealed with the encrypt key", async () => {
    fake.encryptKey = "medbot-encrypt-key";
    const sealed = new FeishuAdapter(feishuConfig(fake, APP_SECRET, "medbot-encrypt-key"), FAST);
    const context = recordingContext();
    await sealed.start(context);
    try {
      fake.userSays({ chatId: ANNA_CHAT, senderOpenId: ANNA, text: "INR 2.4 today" });
      await vi.waitFor(() =>
        expect(context.delivered.map((message) => message.text)).toEqual(["INR 2.4 today"]),
      );
    } finally {
      await sealed.stop();
    }
  });

  it("sends plain text as text, formatting as a post, and long or structured replies as a card", async () => {
    await adapter.start(recordingContext());
    const send = (text: string) =>
      adapter.send({ channel: "feishu", account: APP_ID, chatId: ANNA_CHAT, text });
    await send("Recorded 128/82 for Anna.");
    await send("Recorded **128/82** for Anna, see [the guide](https://example.org).");
    await send("| time | BP |\n|---|---|\n| 08:00 | 128/82 |");
    const long = Array.from({ length: 60 }, (_, line) => `day ${line}: 128/82, pulse 64`).join("\n");
    await send(long);
    expect(fake.sentTo(ANNA_CHAT).map((message) => [message.via, message.msgType, message.text])).toEqual([
      ["create", "text", "Recorded 128/82 for Anna."],
      ["create", "post", "Recorded **128/82** for Anna, see [the guide](https://example.org)."],
      ["create", "interactive", "| time | BP |\n|---|---|\n| 08:00 | 128/82 |"],
      ["create", "interactive", long],
    ]);
  });

  it("answers in a group as a reply to the asker's message", async () => {
    const context = recordingContext();
    await adapter.start(context);
    const asked = fake.userSays({
      chatId: FAMILY_GROUP,
      chatType: "group",
      senderOpenId: ANNA,
      text: "@_user_1 last BP?",
      mentions: [{ key: "@_user_1", name: "MedBot", openId: BOT_OPEN_ID }],
    });
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
    const inbound = context.delivered[0]!;
    await adapter.send({ ...inbound, text: "128/82 this morning." });
    expect(fake.sentTo(FAMILY_GROUP)).toEqual([
      expect.objectContaining({
        via: "reply",
        replyTo: asked,
        msgType: "text",
        text: "128/82 this morning.",
      }),
    ]);
  });

  it("keeps a reply from mentioning everyone or restyling itself", async () => {
    await adapter.start(recordingContext());
    await adapter.send({
      channel: "feishu",
      account: APP_ID,
      chatId: ANNA_CHAT,
      text: 'Done <at user_id="all">everyone</at> <font color="red">now</font>',
    });
    const [sent] = fake.sentTo(ANNA_CHAT);
    expect(sent?.text).not.toMatch(/<at|<font|<\/at/);
    expect(sent?.text.replaceAll("\u200b", "")).toBe(
      'Done <at user_id="all">everyone</at> <font color="red">now</font>',
    );
  });

  it("fits a full chunk of the costliest characters into one card, and splits what escapes worse", async () => {
    await adapter.start(recordingContext());
    const max = adapter.capabilities.maxTextLength;
    const send = (text: string) =>
      adapter.send({ channel: "feishu", account: APP_ID, chatId: ANNA_CHAT, text });
    // A quote is escaped twice (4 bytes), CJK is 3 bytes: a chunk of either fits Feishu's 30 KB card body.
    const quotes = `\`\`\`\n${'"'.repeat(max - 8)}\n\`\`\``;
    await send(quotes);
    await send(`# 血压\n${"血压正常".repeat((max - 5) / 4)}`);
    expect(fake.sentTo(ANNA_CHAT).map((message) => message.msgType)).toEqual(["interactive", "interactive"]);
    // Control characters escape to \\u0001 (7 bytes): the adapter splits such a chunk rather than fail.
    const controls = `**log** ${"\u0001".repeat(max - 9)}`;
    await send(controls);
    const split = fake.sentTo(ANNA_CHAT).slice(2);
    expect(split.length).toBeGreaterThan(1);
    expect(split.map((message) => message.text).join("")).toBe(controls.replace(" ", ""));
  });

  it("retries a 5xx or a rate limit, gives up after three tries, and reports Feishu's code", async () => {
    await adapter.start(recordingContext());
    const messages = "/open-apis/im/v1/messages";
    const send = (text: string, chatId = ANNA_CHAT) =>
      adapter.send({ channel: "feishu", account: APP_ID, chatId, text });
    fake.failNext(
      messages,
      { status: 500, code: 1 },
      { status: 400, code: 99991400, msg: "request too frequent" },
    );
    await send("first");
    expect(fake.requestsTo(messages)).toHaveLength(3);
    expect(fake.sentTo(ANNA_CHAT).map((message) => message.text)).toEqual(["first"]);

    fake.failNext(messages, { status: 502, code: 1 }, { status: 502, code: 1 }, { status: 502, code: 1 });
    await expect(send("second")).rejects.toThrow(/HTTP 502/);
    expect(fake.requestsTo(messages)).toHaveLength(6);

    await expect(send("third", "not-a-chat")).rejects.toThrow(/code 230001/);
    expect(fake.requestsTo(messages)).toHaveLength(7);
  });

  it("rejects start with a wrong app secret, naming the keys to check", async () => {
    const wrong = new FeishuAdapter(feishuConfig(fake, "wrong-secret"), FAST);
    await expect(wrong.start(recordingContext())).rejects.toThrow(/appSecret/);
    expect(wrong.state()).toBe("failed");
    expect(fake.connections).toBe(0);
  });

  it("refuses an app id that is not cli_ and 16 hex digits", () => {
    const config = { ...feishuConfig(fake), appId: "cli_123" };
    expect(() => new FeishuAdapter(config, FAST)).toThrow(/channels\.feishu\.appId/);
  });

  it("is not running while the long connection is down, and running again after the SDK reconnects", async () => {
    const context = recordingContext();
    await adapter.start(context);
    expect(adapter.state()).toBe("running");
    fake.refuseConnections = true;
    fake.dropConnection();
    await vi.waitFor(() => expect(adapter.state()).toBe("starting"));
    await vi.waitFor(() => expect(fake.endpointRequests).toBeGreaterThan(2));
    expect(adapter.state()).toBe("starting");
    fake.refuseConnections = false;
    await vi.waitFor(() => expect(adapter.state()).toBe("running"));
    expect(fake.connections).toBe(2);
    fake.userSays({ chatId: ANNA_CHAT, senderOpenId: ANNA, text: "back again" });
    await vi.waitFor(() => expect(context.delivered.map((message) => message.text)).toEqual(["back again"]));
  });

  it("closes the long connection on stop and never reconnects", async () => {
    await adapter.start(recordingContext());
    expect(fake.connected()).toBe(true);
    await adapter.stop();
    await vi.waitFor(() => expect(fake.connected()).toBe(false));
    const requests = fake.endpointRequests;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.endpointRequests).toBe(requests);
    expect(fake.connections).toBe(1);
    expect(adapter.state()).toBe("stopped");
  });
});

describe("Feishu message format", () => {
  it("resolves mention placeholders without eating longer keys", () => {
    const mentions = Array.from({ length: 10 }, (_, index) => ({
      key: `@_user_${index + 1}`,
      name: `P${index + 1}`,
      id: { open_id: index === 0 ? BOT_OPEN_ID : `ou_${index}` },
    }));
    expect(
      inboundText("text", JSON.stringify({ text: "@_user_1 hi @_user_10" }), mentions, BOT_OPEN_ID),
    ).toBe("hi @P10");
  });

  it("chooses text for plain replies, post for inline formatting, card for code blocks", () => {
    expect(renderFeishuMessage("Take 1 tablet at 8:00.").msgType).toBe("text");
    expect(renderFeishuMessage("Take *one* tablet.").msgType).toBe("post");
    expect(renderFeishuMessage("```\n128/82\n```").msgType).toBe("interactive");
    expect(renderFeishuMessage("# Anna\nfine").msgType).toBe("interactive");
  });
});
