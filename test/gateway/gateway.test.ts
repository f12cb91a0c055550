// The gateway: durable inbox and outbox, per-session order, /stop, restarts and shutdown.
import { afterEach, describe, expect, it, vi } from "vitest";
import { TelegramAdapter } from "../../src/channels/telegram.js";
import { configSchema } from "../../src/config/schema.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { silentLogger } from "../../src/log.js";
import { openDatabase } from "../../src/storage/db.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { MemoryChannel } from "../support/memory-channel.js";
import {
  inboxRows,
  ScriptedAgent,
  SETTINGS,
  STUB_GATE,
  shutDown,
  startGateway,
  type TestGateway,
  tempDatabaseFile,
} from "./harness.js";

const running: TestGateway[] = [];
afterEach(async () => {
  for (const instance of running.splice(0)) await shutDown(instance);
});

async function start(...args: Parameters<typeof startGateway>): Promise<TestGateway> {
  const instance = await startGateway(...args);
  running.push(instance);
  return instance;
}

describe("inbox", () => {
  it("stores a message before deliver resolves, so the platform is acknowledged only after the commit", async () => {
    const agent = new ScriptedAgent(["how is grandma's blood pressure?"]);
    const telegram = new MemoryChannel();
    const { db } = await start(tempDatabaseFile(), agent, [telegram]);

    const result = await telegram.deliver({ text: "how is grandma's blood pressure?", messageId: "77" });

    expect(result).toBe("stored");
    expect(inboxRows(db)).toEqual([{ message_id: "77", status: "pending" }]);
    agent.release("how is grandma's blood pressure?");
  });

  it("ignores a redelivered message (same channel, account, chat and message id) and answers it once", async () => {
    const agent = new ScriptedAgent();
    const telegram = new MemoryChannel();
    const { db } = await start(tempDatabaseFile(), agent, [telegram]);

    expect(await telegram.deliver({ text: "hello", messageId: "5" })).toBe("stored");
    expect(await telegram.deliver({ text: "hello", messageId: "5" })).toBe("duplicate");
    // The same message id in another chat is another message.
    expect(await telegram.deliver({ text: "hello", messageId: "5", chatId: "chat-2" })).toBe("stored");

    await vi.waitFor(() => expect(telegram.sent).toHaveLength(2));
    expect(telegram.textsTo("chat-1")).toEqual(["re: hello"]);
    expect(agent.calls).toHaveLength(2);
    expect(inboxRows(db)).toHaveLength(2);
  });

  it("stores nothing and answers nothing for a refused sender", async () => {
    const agent = new ScriptedAgent();
    const telegram = new MemoryChannel();
    const { db } = await start(tempDatabaseFile(), agent, [telegram]);

    expect(await telegram.deliver({ text: "let me in", senderId: "mallory" })).toBe("denied");

    expect(inboxRows(db)).toEqual([]);
    expect(telegram.sent).toEqual([]);
    expect(agent.calls).toEqual([]);
  });

  it("sends a refused sender only the gate's own reply (a pairing code), storing nothing", async () => {
    const agent = new ScriptedAgent();
    const telegram = new MemoryChannel();
    const { db } = await start(tempDatabaseFile(), agent, [telegram]);

    expect(await telegram.deliver({ text: "hi", senderId: "stranger", chatId: "chat-9" })).toBe("denied");

    expect(telegram.textsTo("chat-9")).toEqual(["Pairing code: 4821"]);
    expect(inboxRows(db)).toEqual([]);
    expect(agent.calls).toEqual([]);
  });

  it("answers as the actor the gate admitted, with the message id", async () => {
    const agent = new ScriptedAgent();
    const telegram = new MemoryChannel();
    await start(tempDatabaseFile(), agent, [telegram]);

    await telegram.deliver({ text: "hi", senderId: "bob", messageId: "12" });

    await vi.waitFor(() => expect(agent.calls).toHaveLength(1));
    expect(agent.calls[0]).toMatchObject({
      sessionKey: "telegram:chat-1:bob",
      origin: { channel: "telegram", chatId: "chat-1" },
      actor: { person: "bob-person", channel: "telegram", messageId: "12", grants: "*" },
    });
  });
});

describe("router", () => {
  it("keeps each session in order while a slow session does not delay another", async () => {
    const agent = new ScriptedAgent(["summarise dad's year"]);
    const telegram = new MemoryChannel();
    await start(tempDatabaseFile(), agent, [telegram]);

    await telegram.deliver({ text: "summarise dad's year", senderId: "alice" });
    await telegram.deliver({ text: "and mum's?", senderId: "alice" });
    await telegram.deliver({ text: "log my weight 70 kg", senderId: "bob", chatId: "chat-2" });

    // Bob is answered while Alice's first turn is still running; Alice's second waits its turn.
    await vi.waitFor(() => expect(telegram.textsTo("chat-2")).toEqual(["re: log my weight 70 kg"]));
    expect(agent.texts()).not.toContain("and mum's?");
    expect(telegram.textsTo("chat-1")).toEqual([]);

    agent.release("summarise dad's year");
    await vi.waitFor(() =>
      expect(telegram.textsTo("chat-1")).toEqual(["re: summarise dad's year", "re: and mum's?"]),
    );
  });

  it("runs no more sessions at once than maxParallelSessions", async () => {
    const agent = new ScriptedAgent(["a", "b"]);
    const telegram = new MemoryChannel();
    const { gateway } = await start(tempDatabaseFile(), agent, [telegram], {
      settings: { ...SETTINGS, maxParallelSessions: 1 },
    });

    await telegram.deliver({ text: "a", senderId: "alice" });
    await telegram.deliver({ text: "b", senderId: "bob" });

    await vi.waitFor(() => expect(agent.isHolding("a")).toBe(true));
    expect(agent.texts()).toEqual(["a"]);
    expect(gateway.report().queue.pending).toBe(2);
    agent.release("a");
    await vi.waitFor(() => expect(agent.isHolding("b")).toBe(true));
    agent.release("b");
    await vi.waitFor(() => expect(telegram.sent).toHaveLength(2));
  });

  it("handles /stop on delivery, without waiting behind the running turn, and sends one reply for both", async () => {
    const agent = new ScriptedAgent(["compare all lab reports since 2015"]);
    const telegram = new MemoryChannel();
    const { db } = await start(tempDatabaseFile(), agent, [telegram]);

    await telegram.deliver({ text: "compare all lab reports since 2015" });
    await vi.waitFor(() => expect(agent.isHolding("compare all lab reports since 2015")).toBe(true));
    await telegram.deliver({ text: "/stop" });

    expect(agent.stopped).toEqual(["telegram:chat-1:alice"]);
    await vi.waitFor(() => expect(inboxRows(db).every((row) => row.status === "done")).toBe(true));
    await vi.waitFor(() => expect(telegram.textsTo("chat-1")).toEqual(["Stopped."]));
    // /stop itself never reached the agent as a turn.
    expect(agent.texts()).toEqual(["compare all lab reports since 2015"]);
  });
});

describe("outbox", () => {
  it("splits a long reply at the channel's limit, never inside a code block", async () => {
    const table = Array.from({ length: 150 }, (_, i) => `2026-01-${i} | 120/80 | ok`).join("\n");
    const prose = "Blood pressure has been stable this year. ".repeat(60);
    const long = `${prose}\n\n\`\`\`\n${table}\n\`\`\`\n\n${prose}`;
    const agent = new ScriptedAgent([], () => long);
    const telegram = new MemoryChannel("telegram", 4096);
    await start(tempDatabaseFile(), agent, [telegram]);

    await telegram.deliver({ text: "show the readings" });

    await vi.waitFor(() => expect(telegram.sent.length).toBeGreaterThan(1));
    await vi.waitFor(() =>
      expect(telegram.sent.map((m) => m.text).join("")).toContain(prose.trim().slice(-40)),
    );
    for (const { text } of telegram.sent) {
      expect(text.length).toBeLessThanOrEqual(4096);
      expect((text.match(/^```/gm) ?? []).length % 2).toBe(0);
    }
  });

  it("keeps a reply whose send failed and sends it once the channel can send again", async () => {
    const agent = new ScriptedAgent();
    const telegram = new MemoryChannel();
    telegram.failSends = 1;
    const { gateway } = await start(tempDatabaseFile(), agent, [telegram]);

    await telegram.deliver({ text: "my glucose was 6.1" });

    await vi.waitFor(() => expect(gateway.report().queue).toEqual({ pending: 0, unsent: 0 }));
    expect(telegram.textsTo("chat-1")).toEqual(["re: my glucose was 6.1"]);
    expect(telegram.refused).toEqual(["re: my glucose was 6.1"]);
  });

  it("gives up on a reply the platform keeps refusing, after ten tries, and sends that chat's next reply", async () => {
    const agent = new ScriptedAgent();
    const telegram = new MemoryChannel();
    telegram.refuses = (text) => text.includes("<unrenderable>");
    const { gateway, db } = await start(tempDatabaseFile(), agent, [telegram]);

    await telegram.deliver({ text: "<unrenderable>" });
    await telegram.deliver({ text: "are you there?" });

    await vi.waitFor(() => expect(telegram.textsTo("chat-1")).toEqual(["re: are you there?"]));
    await vi.waitFor(() => expect(gateway.report().queue).toEqual({ pending: 0, unsent: 0 }));
    expect(telegram.refused).toEqual(Array(10).fill("re: <unrenderable>"));
    const failed = db.prepare("SELECT text FROM gateway_outbox WHERE failed_at IS NOT NULL").all();
    expect(failed).toEqual([{ text: "re: <unrenderable>" }]);
  });
});

describe("outbox with the Telegram adapter", () => {
  const ANNA = { id: 501, first_name: "Anna" };
  const BORIS = { id: 502, first_name: "Boris" };

  it("sends another chat's reply while one chat waits out a 429, and keeps that chat's order", async () => {
    const fake = await FakeTelegram.start();
    const channel = new TelegramAdapter(
      configSchema.parse({
        channels: { telegram: { enabled: true, token: fake.token, apiRoot: fake.apiRoot } },
      }).channels.telegram,
      { pollTimeoutS: 5, backoffMs: 10, failuresUntilFailed: 3 },
    );
    const db = openDatabase(tempDatabaseFile());
    const gateway = new Gateway({
      settings: SETTINGS,
      db,
      agent: new ScriptedAgent(),
      gate: STUB_GATE,
      channels: [channel],
      logger: silentLogger(),
      backoff: { baseMs: 5, maxMs: 40 },
      watchIntervalMs: 10,
      random: () => 1,
    });
    await gateway.start();
    const sendsTo = (chatId: number) =>
      fake.callsOf("sendMessage").filter((call) => String(call.params.chat_id) === String(chatId));
    try {
      fake.failNextTo(ANNA.id, "sendMessage", { status: 429, retryAfter: 3 });
      fake.userSays(ANNA.id, ANNA, "log my weight 64 kg");
      fake.userSays(ANNA.id, ANNA, "and my pulse 70");
      // Boris writes once Anna's first reply was refused: it is waiting out retry_after.
      await vi.waitFor(() => expect(fake.sentTo(ANNA.id)).toHaveLength(1));
      const refusedAt = fake.callsOf("sendMessage")[0]?.at ?? 0;
      fake.userSays(BORIS.id, BORIS, "I took my insulin");

      await vi.waitFor(() => expect(fake.sentTo(BORIS.id)).toHaveLength(1));
      const borisAt = sendsTo(BORIS.id)[0]?.at ?? Number.NaN;
      expect(borisAt - refusedAt).toBeLessThan(1_500);
      expect(fake.sentTo(ANNA.id)).toHaveLength(1);

      await vi.waitFor(() => expect(gateway.report().queue).toEqual({ pending: 0, unsent: 0 }), {
        timeout: 8_000,
      });
      const toAnna = sendsTo(ANNA.id);
      // The refused send, then each reply exactly once, in the order Anna wrote.
      expect(toAnna.map((call) => call.params.text)).toEqual([
        "re: log my weight 64 kg",
        "re: log my weight 64 kg",
        "re: and my pulse 70",
      ]);
      expect((toAnna[1]?.at ?? Number.NaN) - refusedAt).toBeGreaterThanOrEqual(2_950);
      expect(fake.sentTo(BORIS.id).map((params) => params.text)).toEqual(["re: I took my insulin"]);
    } finally {
      await gateway.stop();
      db.close();
      await fake.close();
    }
  }, 15_000);
});

describe("restart", () => {
  it("answers messages left unfinished by a crash on the next start, once", async () => {
    const file = tempDatabaseFile();
    const first = new ScriptedAgent(["my knee hurts"]);
    const before = new MemoryChannel();
    const crashed = await startGateway(file, first, [before], { shutdownDeadlineMs: 1 });
    await before.deliver({ text: "my knee hurts", messageId: "41" });
    await vi.waitFor(() => expect(first.isHolding("my knee hurts")).toBe(true));
    // The process dies mid-turn: nothing was answered, the row is still pending in the file.
    expect(inboxRows(crashed.db)).toEqual([{ message_id: "41", status: "pending" }]);
    await shutDown(crashed);

    const second = new ScriptedAgent();
    const after = new MemoryChannel();
    const restarted = await start(file, second, [after]);
    await vi.waitFor(() => expect(after.textsTo("chat-1")).toEqual(["re: my knee hurts"]));
    expect(inboxRows(restarted.db)).toEqual([{ message_id: "41", status: "done" }]);
    await shutDown(running.pop()!);

    // A further restart finds nothing to do: no turn runs again and nothing is sent twice.
    const third = new ScriptedAgent();
    const again = new MemoryChannel();
    const { gateway } = await start(file, third, [again]);
    expect(gateway.report().queue).toEqual({ pending: 0, unsent: 0 });
    expect(third.calls).toEqual([]);
    expect(again.sent).toEqual([]);
  });

  it("sends a reply committed before a crash but never sent, without running the turn again", async () => {
    const file = tempDatabaseFile();
    const first = new ScriptedAgent();
    const down = new MemoryChannel();
    down.failSends = Number.POSITIVE_INFINITY;
    const crashed = await startGateway(file, first, [down]);
    await down.deliver({ text: "remind me of my pills" });
    await vi.waitFor(() => expect(crashed.gateway.report().queue).toEqual({ pending: 0, unsent: 1 }));
    await shutDown(crashed);

    const second = new ScriptedAgent();
    const up = new MemoryChannel();
    await start(file, second, [up]);
    await vi.waitFor(() => expect(up.textsTo("chat-1")).toEqual(["re: remind me of my pills"]));
    expect(second.calls).toEqual([]);
  });
});

describe("lifecycle", () => {
  it("parks turns still running at the shutdown deadline and answers them at the next start", async () => {
    const file = tempDatabaseFile();
    const agent = new ScriptedAgent(["a long question"]);
    const telegram = new MemoryChannel();
    const first = await startGateway(file, agent, [telegram], { shutdownDeadlineMs: 20 });
    await telegram.deliver({ text: "a long question", messageId: "8" });
    await vi.waitFor(() => expect(agent.isHolding("a long question")).toBe(true));

    await first.gateway.stop();

    expect(telegram.state()).toBe("stopped");
    expect(agent.stopped).toEqual(["telegram:chat-1:alice"]);
    expect(telegram.sent).toEqual([]);
    expect(inboxRows(first.db)).toEqual([{ message_id: "8", status: "pending" }]);
    first.db.close();

    const next = new MemoryChannel();
    await start(file, new ScriptedAgent(), [next]);
    await vi.waitFor(() => expect(next.textsTo("chat-1")).toEqual(["re: a long question"]));
  });

  it("lets a turn that finishes within the deadline commit its reply on stop", async () => {
    const agent = new ScriptedAgent(["quick one"]);
    const telegram = new MemoryChannel();
    const instance = await startGateway(tempDatabaseFile(), agent, [telegram]);
    await telegram.deliver({ text: "quick one" });
    await vi.waitFor(() => expect(agent.isHolding("quick one")).toBe(true));

    const stopping = instance.gateway.stop();
    agent.release("quick one");
    await stopping;

    expect(inboxRows(instance.db)).toEqual([{ message_id: "1", status: "done" }]);
    // The channel is already stopped: the reply waits in the outbox for the next start.
    expect(instance.gateway.queue.counts()).toEqual({ pending: 0, unsent: 1 });
    instance.db.close();
  });

  it("refuses new messages once stopped, so the adapter does not acknowledge them", async () => {
    const telegram = new MemoryChannel();
    const instance = await startGateway(tempDatabaseFile(), new ScriptedAgent(), [telegram]);
    await instance.gateway.stop();
    await expect(instance.gateway.deliver(telegram.message({ text: "late" }))).rejects.toThrow(/not running/);
    instance.db.close();
  });

  it("restarts a channel that fails to start, with backoff, while another channel keeps answering", async () => {
    const telegram = new MemoryChannel("telegram");
    telegram.failStarts = 3;
    const email = new MemoryChannel("email");
    await start(tempDatabaseFile(), new ScriptedAgent(), [telegram, email]);

    await email.deliver({ text: "my blood sugar is 5.4" });
    await vi.waitFor(() => expect(email.textsTo("chat-1")).toEqual(["re: my blood sugar is 5.4"]));

    await vi.waitFor(() => expect(telegram.state()).toBe("running"));
    expect(telegram.starts).toBe(4);
    await telegram.deliver({ text: "and now?" });
    await vi.waitFor(() => expect(telegram.textsTo("chat-1")).toEqual(["re: and now?"]));
  });

  it("restarts a channel whose transport failed while running", async () => {
    const telegram = new MemoryChannel("telegram");
    const email = new MemoryChannel("email");
    const { gateway } = await start(tempDatabaseFile(), new ScriptedAgent(), [telegram, email]);

    telegram.crash();
    expect(gateway.report().status).toBe("degraded");

    await vi.waitFor(() => expect(telegram.starts).toBe(2));
    await vi.waitFor(() => expect(gateway.report().status).toBe("ok"));
    expect(email.starts).toBe(1);
  });
});

describe("messages to contacts", () => {
  it("sends a queued message with its document once, on the last chunk, to the contact's address", async () => {
    const email = new MemoryChannel("email", 40);
    const { gateway } = await start(tempDatabaseFile(), new ScriptedAgent(), [email]);
    const document = { path: "/tmp/doctor_export_20261122.pdf", filename: "doctor_export_20261122.pdf" };
    gateway.queue.send({
      channel: "email",
      account: "",
      chatId: "dr.li@clinic.test",
      subject: "Medical summary: Dad",
      text: `${"Dear Dr Li, attached is the summary. ".repeat(3)}`,
      document,
    });

    await vi.waitFor(() => expect(gateway.queue.counts().unsent).toBe(0));
    expect(email.sent.length).toBeGreaterThan(1);
    expect(email.sent.map((message) => message.document)).toEqual([
      ...email.sent.slice(1).map(() => undefined),
      document,
    ]);
    expect(
      email.sent.every((m) => m.chatId === "dr.li@clinic.test" && m.subject === "Medical summary: Dad"),
    ).toBe(true);
  });
});
