// What the model is told: a stable, cacheable system prompt (identity, workspace files, memory, skills list)
// and the runtime facts (time with timezone, channel, chat) in the user message.
import * as fs from "node:fs";
import * as path from "node:path";
import { countTokens } from "gpt-tokenizer";
import { afterEach, describe, expect, it } from "vitest";
import { runtimeHeader } from "../../src/agent/context.js";
import { toolDefinitions } from "../../src/agent/tools/tool.js";
import { TEMPLATE_DIR } from "../../src/setup/workspace.js";
import { ALICE, type Harness, startAgent, systemPromptOf } from "./harness.js";

const WORKSPACE_FILES = {
  "AGENTS.md": "# Agents\nRULE-MARKER: private data stays on this machine.\n",
  "SOUL.md": "# Soul\nSOUL-MARKER: warm and brief.\n",
  "USER.md": "# User\nUSER-MARKER: emergency number 112.\n",
  "memory/MEMORY.md": "# Memory\nMEMORY-MARKER: grandma prefers phone calls.\n",
};

/** A clock that moves on by 7 minutes on each reading. */
function tickingClock(start: string): () => Date {
  let now = new Date(start).getTime();
  return () => {
    const current = new Date(now);
    now += 7 * 60_000;
    return current;
  };
}

describe("runtimeHeader", () => {
  it("gives the local time with its timezone and offset, the channel and the chat", () => {
    const header = runtimeHeader(
      { channel: "telegram", chatId: "-1001" },
      new Date("2025-03-04T05:06:07Z"),
      "Asia/Shanghai",
    );
    expect(header).toBe("[Tue, 2025-03-04, 13:06 GMT+08:00 Asia/Shanghai · channel telegram · chat -1001]");
  });
});

describe("the context of a turn", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("puts time, timezone, channel and chat in the user message and not in the system prompt", async () => {
    h = await startAgent({
      workspaceFiles: WORKSPACE_FILES,
      clock: () => new Date("2025-03-04T05:06:07Z"),
      timeZone: "Asia/Shanghai",
    });
    await h.agent.handle({
      sessionKey: "telegram:-1001:42",
      text: "what time should mom take her pill?",
      origin: { channel: "telegram", chatId: "-1001" },
    });

    const request = h.fake.chatRequests[0]!;
    expect(request.body.messages.at(-1)).toEqual({
      role: "user",
      content:
        "[Tue, 2025-03-04, 13:06 GMT+08:00 Asia/Shanghai · channel telegram · chat -1001]\nwhat time should mom take her pill?",
    });
    const system = systemPromptOf(request);
    for (const runtimeFact of ["2025-03-04", "13:06", "Asia/Shanghai", "+08:00", "telegram", "-1001"]) {
      expect(system).not.toContain(runtimeFact);
    }
  });

  it("sends a byte-identical system prompt on every turn of a session while memory is unchanged", async () => {
    h = await startAgent({ workspaceFiles: WORKSPACE_FILES, clock: tickingClock("2025-03-04T05:06:07Z") });
    h.fake.enqueue(
      { content: "first" },
      { toolCalls: [{ name: "list_dir", arguments: {} }] },
      { content: "second" },
    );
    await h.send("hello");
    await h.send("list the workspace");

    const prompts = h.fake.chatRequests.map(systemPromptOf);
    expect(prompts).toHaveLength(3);
    expect(prompts[1]).toBe(prompts[0]);
    expect(prompts[2]).toBe(prompts[0]);
    // ...while the user messages did carry different times.
    const [first, second] = h.agent.sessions.live(ALICE).filter((m) => m.role === "user");
    expect(first!.content.split("\n")[0]).not.toBe(second!.content.split("\n")[0]);
  });

  it("rebuilds the system prompt when a workspace file it is made from changes, and only then", async () => {
    h = await startAgent({ workspaceFiles: WORKSPACE_FILES });
    await h.send("one");
    fs.writeFileSync(path.join(h.paths.workspace, "USER.md"), "# Household\n- Timezone: Europe/Vienna\n");
    await h.send("two");
    await h.send("three");
    const prompts = h.fake.chatRequests.map(systemPromptOf);
    expect(prompts[0]).not.toContain("Europe/Vienna");
    expect(prompts[1]).toContain("Europe/Vienna");
    expect(prompts[2]).toBe(prompts[1]);
  });

  it("holds the identity, AGENTS.md, SOUL.md, USER.md, MEMORY.md and the skills list, without skill bodies", async () => {
    h = await startAgent({ workspaceFiles: WORKSPACE_FILES });
    await h.send("hi");

    const system = systemPromptOf(h.fake.chatRequests[0]!);
    expect(system).toMatch(/^You are medbot/);
    const order = [
      "RULE-MARKER",
      "SOUL-MARKER",
      "USER-MARKER",
      "MEMORY-MARKER",
      "- pretriage: Decide how urgently",
    ];
    const positions = order.map((marker) => system.indexOf(marker));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(system).toContain("skills/<name>/SKILL.md");
    // Bodies stay on disk until the model reads one.
    expect(system).not.toContain("# Pretriage");
    expect(system).not.toMatch(/^---$/m);
  });

  it("keeps the fixed part of every request (system prompt + tool definitions) within 3,500 tokens", async () => {
    const template = Object.fromEntries(
      ["AGENTS.md", "SOUL.md", "USER.md", "memory/MEMORY.md"].map((file) => [
        file,
        fs.readFileSync(path.join(TEMPLATE_DIR, file), "utf8"),
      ]),
    );
    h = await startAgent({ workspaceFiles: template });
    await h.send("hi");

    const request = h.fake.chatRequests[0]!;
    const fixed = countTokens(systemPromptOf(request)) + countTokens(JSON.stringify(request.body.tools));
    expect(fixed).toBeLessThanOrEqual(3_500);
    expect(request.body.tools).toEqual(JSON.parse(JSON.stringify(toolDefinitions(h.agent.tools))));
  });
});
