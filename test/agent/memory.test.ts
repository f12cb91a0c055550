// Memory consolidation: a session that outgrows its context budget has its oldest turns summarised into
// MEMORY.md before they leave the context. Nothing is dropped unsummarised.
import * as fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
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
      h.agent.sessions.appendTurn(ALICE, `alice-topic ${longMessage(i)}`, `ok ${longMessage(i)}`);
      h.agent.sessions.appendTurn(BOB, `bob-topic ${longMessage(i)}`, `ok ${longMessage(i)}`);
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
