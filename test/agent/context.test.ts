// What the model is told: a stable, cacheable system prompt (identity, workspace files, memory, skills list)
// and the runtime facts (time with timezone, channel, chat) in the user message.
import * as fs from "node:fs";
import * as path from "node:path";
import { countTokens } from "gpt-tokenizer";
import { afterEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { actorFor } from "../../src/access/people.js";
import { runtimeHeader, workspaceRefusal } from "../../src/agent/context.js";
import { toolDefinitions } from "../../src/agent/tools/tool.js";
import { TEMPLATE_DIR } from "../../src/setup/workspace.js";
import { medicationFields } from "../support/records.js";
import {
  ALICE,
  type Harness,
  startAgent,
  systemPromptOf,
  textOf,
  toolResultsIn,
  turnRequests,
} from "./harness.js";

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

/** Dad is "Wang Jian" on warfarin; the caregiver Carol (telegram 555) is granted grandma only. */
const HOUSEHOLD = {
  "USER.md": "# Household\n- Members: Dad (Wang Jian), Grandma\n- Who chats: Carol looks after Grandma\n",
  "memory/MEMORY.md": "# Memory\n- Wang Jian's cardiologist visit is on 2026-12-01.\n",
};
const PEOPLE = {
  people: {
    carol: { identities: ["telegram:555"], members: ["grandma"] },
    mum: { identities: ["telegram:777"], members: "*" },
  },
};
const DAD_FACTS = /Wang Jian|warfarin|cardiologist/;

async function household(): Promise<Harness> {
  const h = await startAgent({ workspaceFiles: HOUSEHOLD, extraConfig: PEOPLE });
  const owner = hostOwner();
  h.agent.archive.addMember(owner, { id: "dad", displayName: "Wang Jian", relationship: "father" });
  h.agent.archive.addMember(owner, { id: "grandma", displayName: "Grandma", relationship: "grandmother" });
  h.agent.archive.add(
    owner,
    "dad",
    "medications",
    medicationFields({
      name: "warfarin",
      dose: "3 mg",
      route: null,
      frequency: "daily",
      timesOfDay: ["20:00"],
      startDate: null,
    }),
    "confirmed",
  );
  return h;
}

/** A message from a Telegram sender, as the gateway hands it to the agent (with the gate's actor). */
function fromTelegram(h: Harness, sender: string, text: string) {
  const actor = actorFor(h.config, "telegram", sender);
  return h.agent.handle({
    sessionKey: `telegram:${sender}:${sender}`,
    text,
    origin: { channel: "telegram", chatId: sender },
    actor,
  });
}

describe("what reaches the model for a person with limited grants", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("gives owners USER.md and the household memory, a caregiver neither but a note on their access", async () => {
    h = await household();
    await h.send("hi from the terminal");
    await fromTelegram(h, "777", "hi from mum");
    await fromTelegram(h, "555", "hi from carol");

    const [terminal, mum, carol] = turnRequests(h.fake).map(systemPromptOf);
    for (const owner of [terminal!, mum!]) {
      expect(owner).toContain("Dad (Wang Jian)");
      expect(owner).toContain("cardiologist visit");
      expect(owner).not.toContain("## Access");
    }
    expect(mum).toBe(terminal);
    expect(carol).not.toMatch(DAD_FACTS);
    expect(carol).not.toContain("## USER.md");
    expect(carol).toContain("## Access");
    expect(carol).toMatch(/^You are medbot/);
    expect(carol).toContain("- pretriage:");
  });

  it("never carries dad in a caregiver's requests, even when the model goes looking; the owner's do", async () => {
    h = await household();
    const lookForDad = [
      { name: "family_record", arguments: { action: "members" } },
      { name: "family_record", arguments: { action: "show", member: "dad" } },
      { name: "query_metrics", arguments: { member: "dad" } },
      { name: "family_record", arguments: { action: "history", member: "dad", kind: "medication", id: 1 } },
    ];
    h.fake.enqueue({ toolCalls: lookForDad }, { content: "done" });
    await fromTelegram(h, "555", "what does my dad take?");
    h.fake.enqueue({ toolCalls: lookForDad }, { content: "done" });
    await h.send("what does dad take?");

    const [carolFirst, carolAfterTools, ownerFirst, ownerAfterTools] = turnRequests(h.fake);
    for (const request of [carolFirst!, carolAfterTools!]) expect(textOf(request)).not.toMatch(DAD_FACTS);
    const carolResults = toolResultsIn(carolAfterTools!);
    expect(carolResults[0]).toContain("Grandma");
    expect(carolResults[0]).not.toContain("dad");
    for (const refused of carolResults.slice(1)) expect(refused).toMatch(/^Error: .*No family member called/);
    expect(textOf(ownerFirst!)).toMatch(/Wang Jian/);
    expect(toolResultsIn(ownerAfterTools!)[1]).toMatch(/warfarin, 3 mg/);
  });
});

describe("workspaceRefusal: what the file tools may touch for whom", () => {
  const carol: Actor = {
    person: "carol",
    channel: "telegram",
    grants: ["grandma"],
    identities: ["whatsapp:491702222222"],
  };
  const stranger: Actor = { person: "telegram:99", channel: "telegram", grants: [] };
  const p = (...parts: string[]) => path.join(...parts);

  it("lets owners use every workspace path", () => {
    for (const relative of [
      "USER.md",
      p("memory", "MEMORY.md"),
      p("family", "dad", "record.md"),
      "medbot.db",
    ]) {
      expect(workspaceRefusal(hostOwner(), relative, "read")).toBeUndefined();
      expect(workspaceRefusal(hostOwner(), relative, "write")).toBeUndefined();
    }
  });

  it("lets a caregiver read the shared rules, skills, files they sent and their granted members' folders", () => {
    for (const relative of [
      "",
      "AGENTS.md",
      "SOUL.md",
      p("skills", "pretriage", "SKILL.md"),
      p("media", "whatsapp", "491702222222", "photo.jpg"),
      p("family", "grandma", "record.md"),
      p("family", "grandma", "reports", "2026-11-22-lab.pdf"),
    ]) {
      expect(workspaceRefusal(carol, relative, "read"), relative).toBeUndefined();
    }
  });

  it("refuses a caregiver other members' folders, the household's files, others' notes and the database", () => {
    for (const relative of [
      "family",
      p("family", "dad"),
      p("family", "dad", "record.md"),
      p("family", "dad", "doctor_export_20261122.pdf"),
      "media",
      p("media", "whatsapp"),
      p("media", "whatsapp", "photo.jpg"),
      p("media", "whatsapp", "491701111111", "labs.pdf"),
      "USER.md",
      "HEARTBEAT.md",
      "memory",
      p("memory", "MEMORY.md"),
      p("memory", "people"),
      p("memory", "people", "mum.md"),
      "medbot.db",
      "medbot.db-wal",
      "notes.md",
    ]) {
      expect(workspaceRefusal(carol, relative, "read"), relative).toMatch(
        /not available in this conversation/,
      );
    }
  });

  it("lets a caregiver write only their own notes, not the files that shape everyone's prompt", () => {
    expect(workspaceRefusal(carol, p("memory", "people", "carol.md"), "read")).toBeUndefined();
    expect(workspaceRefusal(carol, p("memory", "people", "carol.md"), "write")).toBeUndefined();
    for (const relative of ["AGENTS.md", "SOUL.md", "USER.md", p("skills", "evil", "SKILL.md"), "notes.md"]) {
      expect(workspaceRefusal(carol, relative, "write"), relative).toBeDefined();
    }
    expect(workspaceRefusal(stranger, p("family", "grandma", "record.md"), "read")).toBeDefined();
    expect(workspaceRefusal(stranger, p("memory", "people", "carol.md"), "read")).toBeDefined();
  });
});

describe("identifiers in what the model provider gets", () => {
  let h: Harness;
  afterEach(() => h.close());

  const GP_FACT = "GP Dr. Wu, 021-87654321, wu@clinic.example";

  it("masks them as pseudonyms in the user text, history, tool calls and results and system prompt; the archive keeps them", async () => {
    h = await startAgent({
      workspaceFiles: { "USER.md": "# Household\n- Emergency contact: +86 139 1234 5678\n" },
    });
    h.fake.enqueue(
      {
        toolCalls: [
          { name: "family_record", arguments: { action: "add_member", text: "Grandma" } },
          {
            name: "family_record",
            arguments: {
              action: "add",
              member: "grandma",
              kind: "fact",
              category: "clinician",
              text: GP_FACT,
            },
          },
          { name: "family_record", arguments: { action: "show", member: "grandma" } },
        ],
      },
      { content: "Saved." },
    );
    await h.send(`Grandma's GP: ${GP_FACT}. Her insurance no. AB-1234567. BP 142/90 at 08:00.`);
    await h.send("thanks");

    // Everything in the requests, the model's earlier tool arguments included.
    const ours = h.fake.chatRequests.flatMap((r) => r.body.messages);
    expect(ours.length).toBeGreaterThan(5);
    expect(JSON.stringify(ours)).not.toMatch(/87654321|wu@clinic|1234 5678|AB-1234567/);
    const [first, afterTools, next] = turnRequests(h.fake);
    expect(first!.body.messages.at(-1)?.content).toContain(
      "Grandma's GP: GP Dr. Wu, ⟨phone-2⟩, ⟨email-1⟩. Her insurance no. ⟨insurance-number-1⟩. BP 142/90 at 08:00.",
    );
    expect(systemPromptOf(first!)).toContain("- Emergency contact: ⟨phone-1⟩");
    expect(toolResultsIn(afterTools!)[2]).toContain("clinician: GP Dr. Wu, ⟨phone-2⟩, ⟨email-1⟩");
    expect(textOf(next!)).toContain("insurance no. ⟨insurance-number-1⟩");
    // Real values the model sent itself reach the tool unchanged, and the archive and session keep them.
    const [fact] = h.agent.archive.current(hostOwner(), "grandma", "facts");
    expect(fact).toMatchObject({ text: GP_FACT });
    expect(h.agent.sessions.live(ALICE)[0]?.content).toContain("021-87654321, wu@clinic.example");
  });

  it("sends them as they are when privacy.redactIdentifiers is off", async () => {
    h = await startAgent({ extraConfig: { privacy: { redactIdentifiers: false } } });
    await h.send(`GP: ${GP_FACT}`);
    expect(textOf(h.fake.chatRequests[0]!)).toContain(GP_FACT);
  });
});
