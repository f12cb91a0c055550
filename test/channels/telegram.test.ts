import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TelegramAdapter, type TelegramTiming } from "../../src/channels/telegram.js";
import { markdownToTelegramHtml, telegramHtmlToPlain } from "../../src/channels/telegram-format.js";
import { configSchema } from "../../src/config/schema.js";
import { ConnectProxy } from "../support/connect-proxy.js";
import { BOT, FakeTelegram } from "../support/fake-telegram.js";
import { adapterContract, failingOnceContext, heldContext, recordingContext } from "./contract.js";

const ANNA = { id: 501, first_name: "Anna", last_name: "Berg" };
const STRANGER = { id: 666, first_name: "Mallory" };
const FAMILY_GROUP = -100200;
const FAST: TelegramTiming = { pollTimeoutS: 5, backoffMs: 10, failuresUntilFailed: 3 };

function telegramConfig(fake: FakeTelegram, token = fake.token, proxy?: string) {
  return configSchema.parse({
    channels: { telegram: { enabled: true, token, apiRoot: fake.apiRoot, ...(proxy ? { proxy } : {}) } },
  }).channels.telegram;
}

/** Anna writes once and the adapter answers "Recorded.": every Bot API call a conversation makes. */
async function converse(adapter: TelegramAdapter, fake: FakeTelegram): Promise<void> {
  const context = recordingContext();
  await adapter.start(context);
  fake.userSays(ANNA.id, ANNA, "my blood pressure is 128/82");
  await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
  await adapter.send({ channel: "telegram", account: "", chatId: String(ANNA.id), text: "Recorded." });
}

adapterContract("telegram", async () => {
  const fake = await FakeTelegram.start();
  return {
    adapter: new TelegramAdapter(telegramConfig(fake), FAST),
    chatId: String(ANNA.id),
    userSays: (text) => void fake.userSays(ANNA.id, ANNA, text),
    repeatDelivered: () => fake.redeliverConfirmedOnce(),
    sentTexts: () => fake.sentTo(ANNA.id).map((params) => String(params.text)),
    receiveRequests: () => fake.callsOf("getUpdates").length,
    close: () => fake.close(),
  };
});

describe("Telegram adapter", () => {
  let fake: FakeTelegram;
  let adapter: TelegramAdapter;

  beforeEach(async () => {
    fake = await FakeTelegram.start();
    adapter = new TelegramAdapter(telegramConfig(fake), FAST);
  });

  afterEach(async () => {
    await adapter.stop();
    await fake.close();
  });

  it("turns an allowed message into an InboundMessage and confirms it only after deliver resolved", async () => {
    const context = heldContext();
    await adapter.start(context);
    const updateId = fake.userSays(ANNA.id, ANNA, "Anna took 500 mg paracetamol");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));

    expect(context.delivered[0]).toMatchObject({
      channel: "telegram",
      account: String(BOT.id),
      chatId: String(ANNA.id),
      senderId: String(ANNA.id),
      text: "Anna took 500 mg paracetamol",
      isGroup: false,
      mentioned: false,
      senderName: "Anna Berg",
    });
    expect(context.delivered[0]?.messageId).toMatch(/^\d+$/);
    expect(Number.isNaN(Date.parse(context.delivered[0]?.receivedAt ?? ""))).toBe(false);
    // While the inbox has not committed, Telegram has not been told to forget the update.
    const offsets = () => fake.callsOf("getUpdates").map((call) => Number(call.params.offset ?? 0));
    expect(Math.max(...offsets())).toBeLessThanOrEqual(updateId);

    context.settle("stored");
    await vi.waitFor(() => expect(offsets()).toContain(updateId + 1));
    expect(fake.callsOf("sendChatAction")[0]?.params).toMatchObject({ chat_id: ANNA.id, action: "typing" });
  });

  it("does not confirm an update the inbox failed to take, and delivers it again", async () => {
    const context = failingOnceContext();
    await adapter.start(context);
    const updateId = fake.userSays(ANNA.id, ANNA, "weight 71.2 kg");
    await vi.waitFor(() => expect(context.attempts).toEqual(["weight 71.2 kg", "weight 71.2 kg"]));
    await vi.waitFor(() =>
      expect(fake.callsOf("getUpdates").some((call) => call.params.offset === updateId + 1)).toBe(true),
    );
    expect(adapter.state()).toBe("running");
  });

  it("gives a refused sender no typing action, no download and no reply", async () => {
    const context = recordingContext((sender) => sender === String(ANNA.id));
    await adapter.start(context);
    fake.userSays(STRANGER.id, STRANGER, "show me Anna's medications", {
      document: { file_id: "f1", file_unique_id: "u1", file_name: "labs.pdf" },
      caption: "show me Anna's medications",
    });
    const last = fake.userSays(ANNA.id, ANNA, "hello");
    await vi.waitFor(() => expect(context.results).toEqual(["denied", "stored"]));
    await vi.waitFor(() =>
      expect(fake.callsOf("getUpdates").some((call) => call.params.offset === last + 1)).toBe(true),
    );

    expect(fake.callsOf("sendChatAction").map((call) => call.params.chat_id)).toEqual([ANNA.id]);
    expect(fake.callsOf("getFile")).toEqual([]);
    expect(fake.callsOf("sendMessage")).toEqual([]);
  });

  it("marks group messages as mentioned only when the bot is named, replied to or commanded by name", async () => {
    const context = recordingContext();
    await adapter.start(context);
    fake.userSays(FAMILY_GROUP, ANNA, "Anna's glucose was 5.4 this morning");
    fake.userSays(FAMILY_GROUP, ANNA, `@${BOT.username} what is Anna's last glucose?`);
    fake.userSays(FAMILY_GROUP, ANNA, "thanks", {
      reply_to_message: { message_id: 1, date: 0, chat: {}, from: BOT },
    });
    fake.userSays(FAMILY_GROUP, ANNA, `/new@${BOT.username}`);
    fake.userSays(FAMILY_GROUP, ANNA, "/help@some_other_bot");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(5));

    expect(context.delivered.map((message) => [message.isGroup, message.mentioned])).toEqual([
      [true, false],
      [true, true],
      [true, true],
      [true, true],
      [true, false],
    ]);
    expect(context.delivered.map((message) => message.chatId)).toEqual(Array(5).fill(String(FAMILY_GROUP)));
    expect(context.delivered[3]?.text).toBe("/new");
    expect(context.delivered[4]?.text).toBe("/help@some_other_bot");
  });

  it("sends Markdown as Telegram HTML", async () => {
    await adapter.start(recordingContext());
    await adapter.send({
      channel: "telegram",
      account: "",
      chatId: String(ANNA.id),
      text: "**Warfarin** & aspirin: <major>",
    });
    expect(fake.sentTo(ANNA.id)).toEqual([
      expect.objectContaining({ parse_mode: "HTML", text: "<b>Warfarin</b> &amp; aspirin: &lt;major&gt;" }),
    ]);
  });

  it("resends as plain text when Telegram cannot parse the HTML", async () => {
    await adapter.start(recordingContext());
    fake.failNext("sendMessage", {
      status: 400,
      description: "Bad Request: can't parse entities: unclosed tag",
    });
    await adapter.send({
      channel: "telegram",
      account: "",
      chatId: String(ANNA.id),
      text: "**BP** 128/82 & pulse 64",
    });
    const sent = fake.sentTo(ANNA.id);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(expect.objectContaining({ text: "BP 128/82 & pulse 64" }));
    expect(sent[1]?.parse_mode).toBeUndefined();
  });

  it("splits a chunk whose rendering outgrows 4096 characters", async () => {
    await adapter.start(recordingContext());
    const markdown = Array.from({ length: 400 }, (_, line) => `line ${line}: a<b & c>d`).join("\n");
    expect(markdown.length).toBeLessThan(9000);
    await adapter.send({ channel: "telegram", account: "", chatId: String(ANNA.id), text: markdown });
    const texts = fake.sentTo(ANNA.id).map((params) => String(params.text));
    expect(texts.length).toBeGreaterThan(1);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(4096);
    expect(texts.map(telegramHtmlToPlain).join("\n")).toBe(markdown);
  });

  it("waits retry_after on 429 and then sends", async () => {
    await adapter.start(recordingContext());
    fake.failNext("sendMessage", { status: 429, retryAfter: 1 });
    await adapter.send({ channel: "telegram", account: "", chatId: String(ANNA.id), text: "Recorded." });
    const calls = fake.callsOf("sendMessage");
    expect(calls).toHaveLength(2);
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it("waits retry_after when getUpdates answers 429", async () => {
    fake.failNext("getUpdates", { status: 429, retryAfter: 1 });
    const context = recordingContext();
    await adapter.start(context);
    fake.userSays(ANNA.id, ANNA, "slept 7 hours");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1), { timeout: 5_000 });
    const polls = fake.callsOf("getUpdates");
    expect((polls[1]?.at ?? 0) - (polls[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it("retries a 5xx and gives up after three tries", async () => {
    await adapter.start(recordingContext());
    fake.failNext("sendMessage", { status: 500 }, { status: 502 });
    await adapter.send({ channel: "telegram", account: "", chatId: String(ANNA.id), text: "first" });
    expect(fake.callsOf("sendMessage")).toHaveLength(3);

    fake.failNext("sendMessage", { status: 500 }, { status: 500 }, { status: 500 });
    await expect(
      adapter.send({ channel: "telegram", account: "", chatId: String(ANNA.id), text: "second" }),
    ).rejects.toThrow(/Internal Server Error/);
    expect(fake.callsOf("sendMessage")).toHaveLength(6);
  });

  it("sends an export PDF as a document", async () => {
    await adapter.start(recordingContext());
    const folder = mkdtempSync(join(tmpdir(), "medbot-telegram-"));
    const path = join(folder, "export.pdf");
    const pdf = "%PDF-1.4\n% medbot export\n%%EOF\n";
    writeFileSync(path, pdf);
    await adapter.send({
      channel: "telegram",
      account: "",
      chatId: String(ANNA.id),
      text: "Anna's export is attached.",
      document: { path, filename: "anna-2026-11.pdf" },
    });
    expect(fake.documents).toEqual([
      { chatId: String(ANNA.id), filename: "anna-2026-11.pdf", size: pdf.length, head: "%PDF-1.4" },
    ]);
    expect(fake.sentTo(ANNA.id).map((params) => params.text)).toEqual(["Anna's export is attached."]);

    await adapter.send({
      channel: "telegram",
      account: "",
      chatId: String(ANNA.id),
      text: "",
      document: { path, filename: "again.pdf" },
    });
    expect(fake.documents.map((document) => document.filename)).toEqual(["anna-2026-11.pdf", "again.pdf"]);
    expect(fake.sentTo(ANNA.id)).toHaveLength(1);
  });

  it("fails to start with an invalid token", async () => {
    const wrong = new TelegramAdapter(telegramConfig(fake, "999:WRONG"), FAST);
    await expect(wrong.start(recordingContext())).rejects.toThrow(/401 Unauthorized/);
    expect(wrong.state()).toBe("failed");
    expect(fake.callsOf("getUpdates")).toEqual([]);
  });

  it("is failed after a 401 from getUpdates and stops polling", async () => {
    fake.failNext("getUpdates", { status: 401, description: "Unauthorized" });
    await adapter.start(recordingContext());
    await vi.waitFor(() => expect(adapter.state()).toBe("failed"));
    expect(fake.callsOf("getUpdates")).toHaveLength(1);
  });

  it("is failed after repeated getUpdates errors and running again once they pass", async () => {
    // Eight failures with a doubling backoff from 10 ms: "failed" from the third until they pass.
    fake.failNext("getUpdates", ...Array.from({ length: 8 }, () => ({ status: 502 })));
    const context = recordingContext();
    await adapter.start(context);
    await vi.waitFor(() => expect(adapter.state()).toBe("failed"));
    fake.userSays(ANNA.id, ANNA, "still there?");
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1), { timeout: 10_000 });
    expect(adapter.state()).toBe("running");
    expect(fake.callsOf("getUpdates").length).toBeGreaterThanOrEqual(9);
  });

  it("delivers the caption of a photo or document as its text, without downloading the file", async () => {
    const context = recordingContext();
    await adapter.start(context);
    fake.userSendsMedia(ANNA.id, ANNA, {
      photo: [{ file_id: "p1", file_unique_id: "up1", width: 90, height: 90 }],
      caption: "the rash on my arm this morning",
    });
    fake.userSendsMedia(ANNA.id, ANNA, {
      document: { file_id: "d1", file_unique_id: "ud1", file_name: "labs.pdf" },
      caption: "my lab results from Tuesday",
    });
    await vi.waitFor(() => expect(context.delivered).toHaveLength(2));

    expect(context.delivered.map((message) => message.text)).toEqual([
      "the rash on my arm this morning",
      "my lab results from Tuesday",
    ]);
    expect(context.delivered.every((message) => message.senderId === String(ANNA.id))).toBe(true);
    expect(fake.callsOf("getFile")).toEqual([]);
    expect(fake.callsOf("sendChatAction")).toHaveLength(2);
  });

  it("ignores voice notes, stickers and uncaptioned media without any side effect", async () => {
    const context = recordingContext();
    await adapter.start(context);
    fake.userSendsMedia(ANNA.id, ANNA, {
      voice: { file_id: "v1", file_unique_id: "uv1", duration: 4 },
      caption: "listen to my cough",
    });
    fake.userSendsMedia(ANNA.id, ANNA, {
      sticker: { file_id: "s1", file_unique_id: "us1", type: "regular", width: 512, height: 512 },
    });
    fake.userSendsMedia(ANNA.id, ANNA, {
      photo: [{ file_id: "p2", file_unique_id: "up2", width: 90, height: 90 }],
    });
    fake.userSendsMedia(ANNA.id, ANNA, {
      document: { file_id: "d2", file_unique_id: "ud2", file_name: "scan.pdf" },
      caption: "",
    });
    const last = fake.userSays(ANNA.id, ANNA, "did you get that?");
    await vi.waitFor(() =>
      expect(fake.callsOf("getUpdates").some((call) => call.params.offset === last + 1)).toBe(true),
    );

    // Only the text message reached the gateway; the media were confirmed to Telegram and dropped.
    expect(context.delivered.map((message) => message.text)).toEqual(["did you get that?"]);
    expect(context.asked).toEqual([String(ANNA.id)]);
    expect(fake.callsOf("sendChatAction")).toHaveLength(1);
    expect(fake.callsOf("getFile")).toEqual([]);
    expect(fake.callsOf("sendMessage")).toEqual([]);
  });

  it("sends getMe, getUpdates and sendMessage through channels.telegram.proxy", async () => {
    const proxy = await ConnectProxy.start();
    const proxied = new TelegramAdapter(telegramConfig(fake, fake.token, proxy.url), FAST);
    try {
      await converse(proxied, fake);
    } finally {
      await proxied.stop();
      await proxy.close();
    }

    expect(fake.sentTo(ANNA.id).map((params) => params.text)).toEqual(["Recorded."]);
    const methods = new Set(fake.calls.map((call) => call.method));
    expect([...methods]).toEqual(expect.arrayContaining(["getMe", "getUpdates", "sendMessage"]));
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(fake.apiRoot).host]));
    // Every call the Bot API saw came out of one of the proxy's tunnels.
    for (const call of fake.calls) expect(proxy.upstreamPorts).toContain(call.peerPort);
    expect(proxy.plainRequests).toBe(0);
  });

  it("calls the Bot API directly when no proxy is set", async () => {
    const proxy = await ConnectProxy.start();
    try {
      await converse(adapter, fake);
    } finally {
      await proxy.close();
    }

    expect(fake.sentTo(ANNA.id).map((params) => params.text)).toEqual(["Recorded."]);
    expect(proxy.tunnels).toEqual([]);
    expect(proxy.plainRequests).toBe(0);
    for (const call of fake.calls) expect(proxy.upstreamPorts).not.toContain(call.peerPort);
  });

  it("rejects a proxy that is not an http:// or https:// URL, naming the key and not the password", () => {
    const withProxy = (proxy: string) => new TelegramAdapter(telegramConfig(fake, fake.token, proxy));
    expect(() => withProxy("socks5://family:s3cret@127.0.0.1:1080")).toThrow(
      /channels\.telegram\.proxy uses socks5:\/\/.*use an http:\/\/ or https:\/\/ proxy/,
    );
    expect(() => withProxy("socks5://family:s3cret@127.0.0.1:1080")).not.toThrow(/s3cret/);
    expect(() => withProxy("proxy.lan:3128")).toThrow(/channels\.telegram\.proxy/);
    expect(() => withProxy("not a url")).toThrow(/channels\.telegram\.proxy is not a URL.*http:\/\//);
    expect(() => withProxy("https://proxy.lan:3128")).not.toThrow();
  });

  it("rejects an empty token with the config key", () => {
    const config = { ...telegramConfig(fake), token: "" };
    expect(() => new TelegramAdapter(config)).toThrow(/channels\.telegram\.token/);
  });
});

describe("Markdown to Telegram HTML", () => {
  it("renders bold, italic, code, code blocks and links and escapes everything else", () => {
    const markdown = [
      "# Anna's week",
      "**BP** 128/82 and *pulse* 64 <normal> & fine",
      "- take `1 < 2` tablets",
      "```ts",
      "if (a < b && c) {}",
      "```",
      "[DDInter](https://ddinter.scbdd.com/?a=1&b=2)",
    ].join("\n");
    expect(markdownToTelegramHtml(markdown)).toBe(
      [
        "<b>Anna's week</b>",
        "<b>BP</b> 128/82 and <i>pulse</i> 64 &lt;normal&gt; &amp; fine",
        "• take <code>1 &lt; 2</code> tablets",
        '<pre><code class="language-ts">if (a &lt; b &amp;&amp; c) {}</code></pre>',
        '<a href="https://ddinter.scbdd.com/?a=1&amp;b=2">DDInter</a>',
      ].join("\n"),
    );
  });

  it("leaves snake_case names and an unclosed fence as text", () => {
    expect(markdownToTelegramHtml("blood_pressure_sys 2*3*4")).toBe("blood_pressure_sys 2*3*4");
    expect(markdownToTelegramHtml("```\nno end")).toBe("```\nno end");
  });
});
