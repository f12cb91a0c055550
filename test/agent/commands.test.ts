// Chat commands: /new (summarise into memory, start fresh), /help, /stop (cancel the running turn).
import * as fs from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { parseCommand } from "../../src/agent/commands.js";
import { defineTool } from "../../src/agent/tools/tool.js";
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

describe("parseCommand", () => {
  it("recognises the commands, with a bot suffix and in any case, and nothing else", () => {
    expect(parseCommand("/new")).toBe("new");
    expect(parseCommand(" /STOP ")).toBe("stop");
    expect(parseCommand("/help@medbot_bot")).toBe("help");
    expect(parseCommand("/start")).toBe("help");
    expect(parseCommand("/new please")).toBeUndefined();
    expect(parseCommand("please /stop")).toBeUndefined();
  });
});

describe("/new", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("summarises the conversation into MEMORY.md and starts the next turn without the old history", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": "# Memory\n- Household of four.\n" } });
    await h.send("we prefer morning appointments");
    await h.send("and grandpa only speaks Cantonese");
    h.fake.onRequest((request) =>
      isConsolidation(request)
        ? { content: "# Memory\n- Household of four.\n- Morning appointments; grandpa speaks Cantonese." }
        : undefined,
    );

    const reply = await h.send("/new");

    expect(reply).toMatch(/new conversation.*saved the key points/i);
    const consolidation = h.fake.chatRequests.filter(isConsolidation);
    expect(consolidation).toHaveLength(1);
    // The summariser saw the whole conversation and the memory it merges into.
    expect(textOf(consolidation[0]!)).toContain("we prefer morning appointments");
    expect(textOf(consolidation[0]!)).toContain("grandpa only speaks Cantonese");
    expect(textOf(consolidation[0]!)).toContain("Household of four.");
    expect(consolidation[0]!.body.tools).toBeUndefined();
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(
      "# Memory\n- Household of four.\n- Morning appointments; grandpa speaks Cantonese.\n",
    );
    expect(fs.statSync(h.paths.memoryFile).mode & 0o777).toBe(0o600);

    await h.send("book a checkup");
    const next = turnRequests(h.fake).at(-1)!;
    expect(historyOf(next)).toEqual([]);
    expect(systemPromptOf(next)).toContain("Morning appointments; grandpa speaks Cantonese.");
    expect(textOf(next)).not.toContain("we prefer morning appointments");
  });

  it("keeps the history and says so when the summary cannot be made", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": "# Memory\n" } });
    await h.send("mom is allergic to sulfa drugs");
    h.fake.onRequest((request) => (isConsolidation(request) ? { status: 500 } : undefined));

    const reply = await h.send("/new");

    expect(reply).toMatch(/could not save.*kept it/i);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe("# Memory\n");
    await h.send("what is she allergic to?");
    const next = turnRequests(h.fake).at(-1)!;
    expect(historyOf(next).map((m) => m.content?.split("\n").at(-1))).toEqual([
      "mom is allergic to sulfa drugs",
      "echo: mom is allergic to sulfa drugs",
    ]);
  });

  it("keeps the history when the model returns an empty summary", async () => {
    h = await startAgent();
    await h.send("note: dad's cardiologist is Dr. Wu");
    h.fake.onRequest((request) => (isConsolidation(request) ? { content: "   " } : undefined));

    expect(await h.send("/new")).toMatch(/could not save/i);
    expect(h.agent.sessions.live(ALICE)).toHaveLength(2);
  });

  it("on an empty conversation just starts fresh without calling the model", async () => {
    h = await startAgent();
    expect(await h.send("/new")).toMatch(/Started a new conversation/);
    expect(h.fake.chatRequests).toHaveLength(0);
  });

  it("only clears the session that sent it", async () => {
    h = await startAgent();
    await h.send("alice's note", ALICE);
    await h.send("bob's note", BOB);
    h.fake.onRequest((request) => (isConsolidation(request) ? { content: "- notes" } : undefined));

    await h.send("/new", ALICE);

    expect(h.agent.sessions.live(ALICE)).toEqual([]);
    expect(h.agent.sessions.live(BOB)).toHaveLength(2);
  });
});

describe("/help", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("lists the commands without calling the model or touching the history", async () => {
    h = await startAgent();
    const reply = await h.send("/help");
    expect(reply).toContain("/new");
    expect(reply).toContain("/stop");
    expect(h.fake.chatRequests).toHaveLength(0);
    expect(h.agent.sessions.live(ALICE)).toEqual([]);
  });
});

describe("/stop", () => {
  let h: Harness;
  afterEach(() => h.close());

  /** Starts a turn the fake answers only after a long delay, and waits until the request is in flight. */
  async function slowTurn(): Promise<{ turn: Promise<string> }> {
    h.fake.enqueue({ delayMs: 30_000, reply: { content: "a very late answer" } });
    const turn = h.send("summarise all of dad's lab results");
    await vi.waitFor(() => expect(h.fake.chatRequests).toHaveLength(1));
    return { turn };
  }

  it("sent in the same session cancels the running turn, which is not stored", async () => {
    h = await startAgent({ retry: { attemptTimeoutMs: 60_000, deadlineMs: 60_000 } });
    const { turn } = await slowTurn();

    expect(await h.send("/stop")).toBe("Stopped.");
    expect(await turn).toBe("Stopped.");
    expect(h.agent.sessions.live(ALICE)).toEqual([]);
    // Cancelled is not failed: no retry was made.
    expect(h.fake.chatRequests).toHaveLength(1);

    // The session works normally afterwards and does not carry the cancelled message.
    expect(await h.send("hello again")).toBe("echo: hello again");
    expect(historyOf(h.fake.chatRequests.at(-1)!)).toEqual([]);
  });

  it("through agent.stop cancels the running turn (Ctrl-C in the terminal)", async () => {
    h = await startAgent({ retry: { attemptTimeoutMs: 60_000, deadlineMs: 60_000 } });
    const { turn } = await slowTurn();

    expect(h.agent.stop(ALICE)).toBe(true);
    expect(await turn).toBe("Stopped.");
    expect(h.agent.sessions.live(ALICE)).toEqual([]);
  });

  it("cancels a turn between tool steps: no further model request is made", async () => {
    const stopsTheTurn = defineTool({
      name: "slow_scan",
      description: "Scan every report (the user sends /stop meanwhile).",
      parameters: z.object({}),
      run: (_args, context) => {
        h.agent.stop(context.sessionKey);
        return "scanned";
      },
    });
    h = await startAgent({ tools: [stopsTheTurn] });
    h.fake.enqueue({ toolCalls: [{ name: "slow_scan", arguments: {} }] }, { content: "should not be asked" });

    expect(await h.send("scan all reports")).toBe("Stopped.");
    expect(h.fake.chatRequests).toHaveLength(1);
    expect(h.agent.sessions.live(ALICE)).toEqual([]);
  });

  it("cancels a turn that is waiting to retry the provider", async () => {
    h = await startAgent({ retry: { maxDelayMs: 60_000, deadlineMs: 60_000 } });
    h.fake.enqueue({ status: 429, headers: { "retry-after-ms": "30000" } });
    const turn = h.send("hello");
    await vi.waitFor(() => expect(h.fake.chatRequests).toHaveLength(1));

    expect(await h.send("/stop")).toBe("Stopped.");
    expect(await turn).toBe("Stopped.");
    expect(h.fake.chatRequests).toHaveLength(1);
  });

  it("does not cancel another session's turn", async () => {
    h = await startAgent({ retry: { attemptTimeoutMs: 60_000, deadlineMs: 60_000 } });
    h.fake.enqueue({ delayMs: 300, reply: { content: "alice's answer" } });
    const turn = h.send("hello", ALICE);
    await vi.waitFor(() => expect(h.fake.chatRequests).toHaveLength(1));

    expect(await h.send("/stop", BOB)).toBe("Nothing is running.");
    expect(await turn).toBe("alice's answer");
  });

  it("says so when nothing is running", async () => {
    h = await startAgent();
    expect(await h.send("/stop")).toBe("Nothing is running.");
    expect(h.fake.chatRequests).toHaveLength(0);
  });
});
