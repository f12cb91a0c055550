// Memory consolidation: a session that outgrows its context budget has its oldest turns summarised into
// MEMORY.md before they leave the context. Nothing is dropped unsummarised.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { actorFor } from "../../src/access/people.js";
import { personalMemoryPath } from "../../src/agent/memory.js";
import type { RecordedRequest } from "../support/fake-openai.js";
import {
  ALICE,
  BOB,
  type Harness,
  historyOf,
  isConsolidation,
  startAgent,
  systemPromptOf,
  textOf,
  turnRequests,
} from "./harness.js";

/** A small window, so a few long messages overflow it. */
// Small enough that a few long exchanges overflow it, beside the full tool list (about 1,500 tokens).
const SMALL_WINDOW = { contextWindowTokens: 6144, maxTokens: 512 };
const INITIAL_MEMORY = "# Memory\n- The family lives in Lyon.\n";

/** A long message (~400 tokens) that says which turn it is. */
const longMessage = (turn: number) => `turn ${turn}: ${"morning blood pressure diary entry, ".repeat(45)}`;

/** Sends long messages until a turn triggers consolidation; returns that turn's number. */
async function sendUntilConsolidation(h: Harness): Promise<number> {
  for (let turn = 1; turn <= 12; turn++) {
    await h.send(longMessage(turn));
    if (h.fake.chatRequests.some(isConsolidation)) return turn;
  }
  throw new Error("the session never outgrew its context budget");
}

/** "turn 3" / "echo: turn 3" for each history message of a request. */
const turnLabels = (request: RecordedRequest) =>
  historyOf(request).map((m) => /(?:echo: )?turn \d+/.exec(m.content ?? "")?.[0]);

describe("memory consolidation", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("summarises the oldest exchanges into MEMORY.md before a turn that would overflow, then leaves them out", async () => {
    h = await startAgent({ defaults: SMALL_WINDOW, workspaceFiles: { "memory/MEMORY.md": INITIAL_MEMORY } });
    h.fake.onRequest((request) =>
      isConsolidation(request)
        ? { content: "# Memory\n- The family lives in Lyon.\n- Keeps a morning BP diary." }
        : undefined,
    );

    const turn = await sendUntilConsolidation(h);

    expect(turn).toBeGreaterThan(2);
    const requests = h.fake.chatRequests;
    const consolidationAt = requests.findIndex(isConsolidation);
    const before = requests[consolidationAt - 1]!;
    const after = requests[consolidationAt + 1]!;
    expect(requests.filter(isConsolidation)).toHaveLength(1);
    // The summary is made first, from the oldest turn on, and merged into the existing memory.
    expect(after.body.messages.at(-1)?.content).toContain(`turn ${turn}:`);
    const summarised = textOf(requests[consolidationAt]!);
    expect(summarised).toContain("turn 1:");
    expect(summarised).toContain("echo: turn 1:");
    expect(summarised).toContain("The family lives in Lyon.");
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(
      "# Memory\n- The family lives in Lyon.\n- Keeps a morning BP diary.\n",
    );
    // The next request is smaller: fewer history messages, the oldest gone, the memory in the system prompt.
    expect(historyOf(after).length).toBeLessThan(historyOf(before).length);
    expect(textOf(after)).not.toContain("turn 1:");
    expect(systemPromptOf(after)).toContain("Keeps a morning BP diary.");
    expect(systemPromptOf(before)).not.toContain("Keeps a morning BP diary.");
    // Whole exchanges left, and every earlier turn is either summarised or still in the context.
    expect(historyOf(after)[0]?.role).toBe("user");
    for (let earlier = 1; earlier < turn; earlier++) {
      const kept = textOf(after).includes(`turn ${earlier}:`);
      const inSummary = summarised.includes(`turn ${earlier}:`);
      expect(kept !== inSummary, `turn ${earlier} is in exactly one place`).toBe(true);
    }
    // Summarised messages leave the context but stay on disk.
    expect(h.agent.sessions.counts().messages).toBe(2 * turn);
    expect(h.agent.sessions.live(ALICE).length).toBe(historyOf(after).length + 2);
  });

  it("keeps sending all of the history when the summary fails", async () => {
    h = await startAgent({ defaults: SMALL_WINDOW, workspaceFiles: { "memory/MEMORY.md": INITIAL_MEMORY } });
    h.fake.onRequest((request) => (isConsolidation(request) ? { status: 500 } : undefined));

    const turn = await sendUntilConsolidation(h);

    const after = turnRequests(h.fake).at(-1)!;
    expect(turnLabels(after)).toEqual(
      Array.from({ length: turn - 1 }, (_, i) => [`turn ${i + 1}`, `echo: turn ${i + 1}`]).flat(),
    );
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(INITIAL_MEMORY);
    expect(h.agent.sessions.live(ALICE)).toHaveLength(2 * turn);
    expect(h.warnings.join("\n")).toMatch(/could not summarise older messages/);

    // The next turns do not try again at once (each try costs a full round of retries).
    const tries = h.fake.chatRequests.filter(isConsolidation).length;
    await h.send("one more");
    await h.send("and another");
    expect(h.fake.chatRequests.filter(isConsolidation)).toHaveLength(tries);
  });

  it("does not summarise anything for a new session, even when the window leaves no room for history", async () => {
    h = await startAgent({
      defaults: { contextWindowTokens: 4096, maxTokens: 4096 },
      workspaceFiles: { "memory/MEMORY.md": INITIAL_MEMORY },
    });

    expect(await h.send("hello")).toBe("echo: hello");

    expect(h.fake.chatRequests).toHaveLength(1);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(INITIAL_MEMORY);
    expect(h.warnings).toEqual([]);
  });

  it("keeps both summaries when two sessions are summarised at the same time", async () => {
    h = await startAgent({ defaults: SMALL_WINDOW, workspaceFiles: { "memory/MEMORY.md": INITIAL_MEMORY } });
    for (let i = 0; i < 8; i++) {
      h.agent.sessions.appendTurn(ALICE, `alice-topic ${longMessage(i)}`, `ok ${longMessage(i)}`, "*");
      h.agent.sessions.appendTurn(BOB, `bob-topic ${longMessage(i)}`, `ok ${longMessage(i)}`, "*");
    }
    // The summariser appends one line to the memory it is given, naming whose conversation it read.
    h.fake.onRequest((request) => {
      if (!isConsolidation(request)) return undefined;
      const input = request.body.messages[1]?.content ?? "";
      const current = /## Current MEMORY\.md\n([\s\S]*?)\n\n## Conversation to archive/.exec(input)![1]!;
      const who = input.includes("alice-topic") ? "alice" : "bob";
      return { delayMs: 50, reply: { content: `${current.trim()}\n- Talked with ${who}.` } };
    });

    await Promise.all([h.send("next", ALICE), h.send("next", BOB)]);

    const memory = fs.readFileSync(h.paths.memoryFile, "utf8");
    expect(memory).toContain("The family lives in Lyon.");
    expect(memory).toContain("- Talked with alice.");
    expect(memory).toContain("- Talked with bob.");
  });
});

describe("whose memory", () => {
  let h: Harness;
  afterEach(() => h.close());

  const PEOPLE = {
    people: {
      carol: { identities: ["telegram:555"], members: ["grandma"] },
      mum: { identities: ["telegram:777"], members: "*" },
    },
  };
  const HOUSEHOLD_MEMORY = "# Memory\n- Dad's cardiologist visit is on 2026-12-01.\n";

  /** A message from a Telegram sender with the actor the gate gives them. */
  const fromTelegram = (sender: string, text: string) =>
    h.agent.handle({
      sessionKey: `telegram:${sender}:${sender}`,
      text,
      origin: { channel: "telegram", chatId: sender },
      actor: actorFor(h.config, "telegram", sender),
    });

  /** The summariser returns the notes it was given plus one line naming a word of the conversation. */
  const appendingSummariser = () =>
    h.fake.onRequest((request) => {
      if (!isConsolidation(request)) return undefined;
      const input = request.body.messages[1]?.content ?? "";
      const current = /## Current MEMORY\.md\n([\s\S]*?)\n\n## Conversation to archive/.exec(input)![1]!;
      const topic = /topic (\w+)/.exec(input)?.[1] ?? "none";
      return { content: `${current === "(empty)" ? "# Notes" : current.trim()}\n- Talked about ${topic}.` };
    });

  it("keeps a caregiver's notes in memory/people/<person>.md, apart from the household's MEMORY.md", async () => {
    h = await startAgent({ extraConfig: PEOPLE, workspaceFiles: { "memory/MEMORY.md": HOUSEHOLD_MEMORY } });
    appendingSummariser();

    await fromTelegram("555", "topic knitting for grandma");
    expect(await fromTelegram("555", "/new")).toMatch(/saved the key points/);
    await fromTelegram("555", "hello again");

    const carolFile = path.join(h.paths.workspace, "memory", "people", "carol.md");
    expect(fs.readFileSync(carolFile, "utf8")).toBe("# Notes\n- Talked about knitting.\n");
    expect(fs.statSync(carolFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(carolFile)).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(HOUSEHOLD_MEMORY);
    // The summary never saw the household's notes; Carol's next prompt shows her own notes and no others.
    const summary = h.fake.chatRequests.find(isConsolidation)!;
    expect(textOf(summary)).not.toContain("cardiologist");
    const carolPrompt = systemPromptOf(turnRequests(h.fake).at(-1)!);
    expect(carolPrompt).toContain(
      "## Long-term memory (memory/people/carol.md)\n# Notes\n- Talked about knitting.",
    );
    expect(carolPrompt).not.toContain("cardiologist");

    await h.send("hello from the terminal");
    const ownerPrompt = systemPromptOf(turnRequests(h.fake).at(-1)!);
    expect(ownerPrompt).toContain("## Long-term memory (memory/MEMORY.md)");
    expect(ownerPrompt).toContain("cardiologist");
    expect(ownerPrompt).not.toContain("knitting");
  });

  it("lets owners share the household's MEMORY.md", async () => {
    h = await startAgent({ extraConfig: PEOPLE, workspaceFiles: { "memory/MEMORY.md": HOUSEHOLD_MEMORY } });
    appendingSummariser();

    await fromTelegram("777", "topic holidays");
    await fromTelegram("777", "/new");
    await h.send("hi");

    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(`${HOUSEHOLD_MEMORY}- Talked about holidays.\n`);
    expect(fs.existsSync(path.join(h.paths.workspace, "memory", "people"))).toBe(false);
    expect(systemPromptOf(turnRequests(h.fake).at(-1)!)).toContain("- Talked about holidays.");
  });

  it("summarises an overflowing caregiver session into the caregiver's notes", async () => {
    h = await startAgent({ defaults: SMALL_WINDOW, extraConfig: PEOPLE });
    appendingSummariser();
    for (let turn = 1; turn <= 12 && !h.fake.chatRequests.some(isConsolidation); turn++) {
      await fromTelegram("555", `topic gardening ${longMessage(turn)}`);
    }
    expect(h.fake.chatRequests.some(isConsolidation)).toBe(true);
    expect(fs.readFileSync(path.join(h.paths.workspace, personalMemoryPath("carol")), "utf8")).toContain(
      "Talked about gardening.",
    );
    expect(fs.existsSync(h.paths.memoryFile)).toBe(false);
  });

  it("gives a sender who is no configured person a safe notes file of their own", () => {
    const names = [
      "telegram:123",
      "email:ann@example.org",
      "../../etc/passwd",
      "a/b",
      "a:b",
      "x".repeat(200),
    ];
    const files = names.map(personalMemoryPath);
    expect(new Set(files).size).toBe(names.length);
    for (const file of files) {
      expect(path.dirname(file)).toBe(path.join("memory", "people"));
      expect(path.basename(file)).toMatch(/^_[\w.-]{1,40}-[0-9a-f]{10}\.md$/);
    }
    expect(personalMemoryPath("carol")).toBe(path.join("memory", "people", "carol.md"));
  });
});
