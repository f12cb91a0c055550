// Issue 12: a poison message (its turn killed the gateway, or ran past gateway.turnDeadlineS, twice) is set
// aside at the start of its third attempt: never re-run, the sender told once, the log and audit say so.
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeOpenAI, type RecordedRequest } from "../support/fake-openai.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { freePort, type GatewayProcess, spawnGateway } from "../support/gateway-process.js";
import { fakeProviderConfig, tempHome, writeConfig } from "../support/medbot-cli.js";
import { MemoryChannel } from "../support/memory-channel.js";
import {
  inboxRows,
  ScriptedAgent,
  shutDown,
  startGateway,
  type TestGateway,
  tempDatabaseFile,
} from "./harness.js";

const SET_ASIDE =
  "I could not process your message (my attempts to answer it failed twice), so it has been set aside. Please try again in other words, or in parts.";
const BORIS = { id: 822, first_name: "Boris" };
const processes: GatewayProcess[] = [];
const running: TestGateway[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const instance of running.splice(0)) await shutDown(instance);
  for (const child of processes.splice(0)) if (child.child.exitCode === null) child.child.kill("SIGKILL");
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function lastUserText(request: RecordedRequest): string {
  return [...request.body.messages].reverse().find((message) => message.role === "user")?.content ?? "";
}

describe("poison messages", () => {
  it("parks a message whose turn killed the gateway twice, tells the sender once and never runs it again", async () => {
    const telegram = await FakeTelegram.start();
    const model = await FakeOpenAI.start();
    cleanups.push(
      () => telegram.close(),
      () => model.close(),
    );
    // The poison turn stalls at the model; the test kills the gateway there, as a crash mid-turn would.
    model.onRequest((request) =>
      lastUserText(request).includes("poison")
        ? { delayMs: 60_000, reply: { content: "too late" } }
        : { content: "noted" },
    );
    const poisonRequests = () => model.requests.filter((request) => lastUserText(request).includes("poison"));
    const home = tempHome("medbot-poison-");
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    writeConfig(home, {
      ...fakeProviderConfig(model.url),
      channels: {
        telegram: telegram.channelConfig([String(BORIS.id)]),
      },
      gateway: { port: await freePort() },
    });

    telegram.userSays(BORIS.id, BORIS, "the poison question");
    for (const attempt of [1, 2]) {
      const gateway = spawnGateway(home);
      processes.push(gateway);
      await vi.waitFor(() => expect(poisonRequests()).toHaveLength(attempt), {
        timeout: 20_000,
        interval: 20,
      });
      gateway.child.kill("SIGKILL");
      expect(await gateway.exited).toBeNull();
    }

    const third = spawnGateway(home);
    processes.push(third);
    const replies = () => telegram.sentTo(BORIS.id).map((params) => String(params.text));
    await vi.waitFor(() => expect(replies()).toEqual([SET_ASIDE]), { timeout: 20_000, interval: 20 });
    // The session is free again: the next message is answered.
    telegram.userSays(BORIS.id, BORIS, "my pulse is 70");
    await vi.waitFor(() => expect(replies()).toEqual([SET_ASIDE, "noted"]), {
      timeout: 20_000,
      interval: 20,
    });
    third.child.kill("SIGTERM");
    expect(await third.exited).toBe(0);
    expect(third.log()).toContain("set aside");

    // A fourth start finds nothing to resume: the parked message is never run again.
    const fourth = spawnGateway(home);
    processes.push(fourth);
    await vi.waitFor(() => expect(fourth.log()).toContain("gateway started"), {
      timeout: 20_000,
      interval: 20,
    });
    fourth.child.kill("SIGTERM");
    expect(await fourth.exited).toBe(0);
    expect(poisonRequests()).toHaveLength(2);
    expect(replies()).toEqual([SET_ASIDE, "noted"]);

    const db = new Database(path.join(home, "workspace", "medbot.db"), { readonly: true });
    try {
      const row = db
        .prepare(
          "SELECT status, attempts, parked_at IS NOT NULL AS parked FROM gateway_inbox ORDER BY id LIMIT 1",
        )
        .get();
      expect(row).toEqual({ status: "done", attempts: 2, parked: 1 });
      const audit = db.prepare("SELECT action, note FROM audit_log WHERE action = 'message.parked'").all();
      expect(audit).toEqual([{ action: "message.parked", note: "telegram: inbox:1 after 2 attempts" }]);
    } finally {
      db.close();
    }
  }, 90_000);

  it("parks a message whose turn ran past the turn deadline twice", async () => {
    const agent = new ScriptedAgent(["summarise ten years of lab results"]);
    const telegram = new MemoryChannel();
    const instance = await startGateway(tempDatabaseFile(), agent, [telegram], { turnDeadlineMs: 100 });
    running.push(instance);

    await telegram.deliver({ text: "summarise ten years of lab results", messageId: "1" });
    await telegram.deliver({ text: "my weight is 64 kg", messageId: "2" });
    await vi.waitFor(() => expect(telegram.textsTo("chat-1")).toEqual([SET_ASIDE, "re: my weight is 64 kg"]));

    expect(agent.texts()).toEqual([
      "summarise ten years of lab results",
      "summarise ten years of lab results",
      "my weight is 64 kg",
    ]);
    expect(inboxRows(instance.db)).toEqual([
      { message_id: "1", status: "done" },
      { message_id: "2", status: "done" },
    ]);
  });
});
