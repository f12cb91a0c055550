// Sessions: keyed channel:chat:sender, isolated from each other, persisted in SQLite.
import { afterEach, describe, expect, it } from "vitest";
import { sessionKey } from "../../src/agent/sessions.js";
import { ALICE, BOB, type Harness, historyOf, startAgent, textOf } from "./harness.js";

const lastLine = (text: string | null | undefined) => text?.split("\n").at(-1);

describe("sessions", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("are keyed by channel, chat and sender", () => {
    expect(sessionKey("telegram", "-100123", "42")).toBe("telegram:-100123:42");
    expect(sessionKey("telegram", "-100123", "42")).not.toBe(sessionKey("telegram", "-100123", "43"));
  });

  it("carry a session's own history into its next turn", async () => {
    h = await startAgent();
    await h.send("grandma takes metformin 500 mg");
    await h.send("and what does she take?");

    const second = h.fake.chatRequests[1]!;
    expect(historyOf(second).map((m) => [m.role, lastLine(m.content)])).toEqual([
      ["user", "grandma takes metformin 500 mg"],
      ["assistant", "echo: grandma takes metformin 500 mg"],
    ]);
  });

  it("never show one person's conversation to another", async () => {
    h = await startAgent();
    await h.send("I am pregnant, please keep it private", ALICE);
    await h.send("hello", BOB);
    await h.send("anything new?", ALICE);

    const [, bobs, alices] = h.fake.chatRequests;
    expect(historyOf(bobs!)).toEqual([]);
    expect(textOf(bobs!)).not.toContain("pregnant");
    expect(historyOf(alices!).map((m) => lastLine(m.content))).toEqual([
      "I am pregnant, please keep it private",
      "echo: I am pregnant, please keep it private",
    ]);
    expect(h.agent.sessions.live(BOB).map((m) => lastLine(m.content))).toEqual(["hello", "echo: hello"]);
  });

  it("survive a restart: a new Agent on the same database continues the conversation", async () => {
    h = await startAgent();
    await h.send("dad's target BP is 130/80");
    h.agent.close();

    const restarted = h.reopen();
    await restarted.handle({
      sessionKey: ALICE,
      text: "what is dad's target?",
      origin: { channel: "test", chatId: "c" },
    });

    const request = h.fake.chatRequests[1]!;
    expect(historyOf(request).map((m) => lastLine(m.content))).toEqual([
      "dad's target BP is 130/80",
      "echo: dad's target BP is 130/80",
    ]);
  });
});
