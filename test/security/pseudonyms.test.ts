// Reversible redaction through the real agent loop and the loopback fake model (issue 13, "Never store a
// placeholder"): the model only ever sees pseudonyms, and what medbot stores, writes and shows holds the
// real values. The fake model copies the identifiers it is shown, as a real model can only do.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { type ChatProvider, pseudonymisedProvider } from "../../src/agent/provider.js";
import { Pseudonyms } from "../../src/security/pseudonyms.js";
import {
  ALICE,
  BOB,
  type Harness,
  isConsolidation,
  startAgent,
  textOf,
  toolResultsIn,
  turnRequests,
} from "../agent/harness.js";
import type { RecordedRequest } from "../support/fake-openai.js";
import { redactionShapes } from "../support/redaction-shapes.js";

const LI_WEI = "+86 138 0013 8000";
const GP = "021-87654321";
/** Either identifier, however it is spaced: what the provider must never receive. */
const REAL_DIGITS = /138\D{0,3}0013\D{0,3}8000|13800138000|87654321/;

/** The masked phone numbers a request showed the model in its last user message, in order. */
function phonesShownIn(request: RecordedRequest): string[] {
  const user = [...request.body.messages].reverse().find((m) => m.role === "user");
  return (user?.content ?? "").match(/⟨phone-\d+⟩|\[phone\]/g) ?? [];
}

function lastIsToolResult(request: RecordedRequest): boolean {
  return request.body.messages.at(-1)?.role === "tool";
}

describe("pseudonyms in a conversation", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("puts the real digits back in a profile update, a memory note, the reply and the export", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": "# Household notes\n" } });
    h.agent.archive.addMember(hostOwner(), { id: "grandma", displayName: "Grandma" });
    h.fake.onRequest((request) => {
      if (lastIsToolResult(request)) {
        const [contact, gp] = phonesShownIn(request);
        return { content: `Saved: Li Wei, phone ${contact}; your GP's number ${gp} is in my notes.` };
      }
      const [contact, gp] = phonesShownIn(request);
      return {
        toolCalls: [
          {
            name: "family_record",
            arguments: {
              action: "update_member",
              member: "grandma",
              profile: { emergency_contact: `Li Wei, phone ${contact}` },
            },
          },
          {
            name: "write_file",
            arguments: { path: "memory/MEMORY.md", content: `# Household notes\n- Our GP's number: ${gp}\n` },
          },
          { name: "export_medical_record", arguments: { member: "grandma", format: "md" } },
        ],
      };
    });

    const reply = await h.send(
      `Grandma's emergency contact is Li Wei ${LI_WEI}. And remember our GP's number: ${GP}.`,
    );

    expect(h.agent.archive.member(hostOwner(), "grandma").emergencyContact).toBe(`Li Wei, phone ${LI_WEI}`);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toContain(`Our GP's number: ${GP}`);
    expect(reply).toBe(`Saved: Li Wei, phone ${LI_WEI}; your GP's number ${GP} is in my notes.`);
    const folder = path.join(h.paths.workspace, "family", "grandma");
    const exported = fs.readdirSync(folder).find((name) => /^doctor_export_\d{8}\.md$/.test(name));
    expect(fs.readFileSync(path.join(folder, exported!), "utf8")).toContain(`Li Wei, phone ${LI_WEI}`);

    const [first, afterTools] = turnRequests(h.fake);
    expect(first!.body.messages.at(-1)?.content).toContain(
      "Grandma's emergency contact is Li Wei ⟨phone-1⟩. And remember our GP's number: ⟨phone-2⟩.",
    );
    // The next round carries the model's own arguments and the tool results: pseudonyms again.
    expect(textOf(afterTools!)).toContain("Li Wei, phone ⟨phone-1⟩");
    for (const request of h.fake.chatRequests) expect(JSON.stringify(request.body)).not.toMatch(REAL_DIGITS);
  });

  it("gives a value the same pseudonym in later turns, after a restart and in what a tool shows", async () => {
    h = await startAgent();
    h.agent.archive.addMember(hostOwner(), { id: "grandma", displayName: "Grandma" });
    h.fake.enqueue(
      {
        toolCalls: [
          {
            name: "family_record",
            arguments: {
              action: "add",
              member: "grandma",
              kind: "fact",
              category: "clinician",
              text: "GP ⟨phone-1⟩",
            },
          },
        ],
      },
      { content: "Saved." },
    );
    await h.send(`Grandma's GP is on ${GP}, and Li Wei on +8613800138000.`);
    await h.send(`Li Wei's number again: ${LI_WEI}`);
    h.fake.enqueue(
      { toolCalls: [{ name: "family_record", arguments: { action: "show", member: "grandma" } }] },
      { content: "Here it is." },
    );
    const restarted = h.reopen();
    await restarted.handle({
      sessionKey: ALICE,
      text: "Who is grandma's GP?",
      origin: { channel: "test", chatId: "family-chat" },
    });

    const [first, , second, , withRecord] = turnRequests(h.fake);
    expect(phonesShownIn(first!)).toEqual(["⟨phone-1⟩", "⟨phone-2⟩"]);
    expect(phonesShownIn(second!)).toEqual(["⟨phone-2⟩"]);
    expect(textOf(second!)).toContain("Grandma's GP is on ⟨phone-1⟩, and Li Wei on ⟨phone-2⟩.");
    expect(h.agent.archive.current(hostOwner(), "grandma", "facts")[0]).toMatchObject({ text: `GP ${GP}` });
    expect(toolResultsIn(withRecord!)[0]).toContain("GP ⟨phone-1⟩");
    for (const request of h.fake.chatRequests) expect(JSON.stringify(request.body)).not.toMatch(REAL_DIGITS);
  });

  it("refuses an invented pseudonym and another conversation's: nothing with a fake token is stored", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": "# Household notes\n" } });
    h.agent.archive.addMember(hostOwner(), {
      id: "grandma",
      displayName: "Grandma",
      emergencyContact: "Li Wei",
    });
    await h.send(`Bob's dentist: ${GP}`, BOB);
    h.fake.enqueue(
      {
        toolCalls: [
          {
            name: "family_record",
            arguments: {
              action: "update_member",
              member: "grandma",
              profile: { emergency_contact: "Li Wei ⟨phone-1⟩" },
            },
          },
          { name: "write_file", arguments: { path: "memory/MEMORY.md", content: "- GP: ⟨phone-7⟩\n" } },
          { name: "write_file", arguments: { path: "memory/MEMORY.md", content: "- GP: [phone]\n" } },
        ],
      },
      { content: "Done: Li Wei ⟨phone-1⟩, GP <phone-7>." },
    );

    const reply = await h.send("Save Li Wei's number for grandma.");

    // ⟨phone-1⟩ is Bob's; Alice's conversation never had one.
    const results = toolResultsIn(turnRequests(h.fake).at(-1)!);
    expect(results[0]).toMatch(
      /^Error: family_record was not run: ⟨phone-1⟩ is not a pseudonym this conversation/,
    );
    expect(results[1]).toMatch(/^Error: write_file was not run: ⟨phone-7⟩/);
    expect(results[2]).toMatch(/^Error: write_file was not run: \[phone\]/);
    expect(h.agent.archive.member(hostOwner(), "grandma").emergencyContact).toBe("Li Wei");
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe("# Household notes\n");
    expect(reply).toBe("Done: Li Wei (unknown phone number), GP (unknown phone number).");
    expect(reply).not.toContain(GP);
    expect(h.agent.sessions.live(ALICE).at(-1)?.content).toBe(reply);
  });

  it("writes the real values into memory at /new, refuses a summary with an unknown pseudonym, then starts afresh", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": "# Household notes\n" } });
    const summaries: string[] = [];
    h.fake.onRequest((request) => {
      if (!isConsolidation(request)) return undefined;
      const phone = /⟨phone-\d+⟩|\[phone\]/.exec(textOf(request))?.[0];
      return { content: summaries.shift() ?? `# Household notes\n- Our GP's number: ${phone}` };
    });
    await h.send(`Our GP's number is ${GP}.`);

    summaries.push("# Household notes\n- Our GP's number: ⟨phone-4⟩");
    expect(await h.send("/new")).toMatch(/could not save this conversation's key points/);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe("# Household notes\n");

    expect(await h.send("/new")).toMatch(/^Started a new conversation\. I saved/);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toContain(`Our GP's number: ${GP}`);
    for (const request of h.fake.chatRequests) expect(JSON.stringify(request.body)).not.toMatch(REAL_DIGITS);

    // The old conversation's pseudonyms are retired: the number (now in memory) gets a new one, the old is refused.
    const fresh = new Pseudonyms(h.agent.archive.db, ALICE);
    expect(fresh.reveal("⟨phone-1⟩")).toEqual({ text: "(unknown phone number)", refused: ["⟨phone-1⟩"] });
    expect(fresh.mask(`GP ${GP}`)).toBe("GP ⟨phone-2⟩");
  });
});

describe("memory consolidation when the conversation outgrows its window", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("writes the real digits into MEMORY.md and keeps the pseudonyms for the turn under way", async () => {
    h = await startAgent({
      defaults: { contextWindowTokens: 6144, maxTokens: 512 },
      workspaceFiles: { "memory/MEMORY.md": "# Household notes\n" },
    });
    h.fake.onRequest((request) => {
      if (!isConsolidation(request)) return undefined;
      const phone = /⟨phone-\d+⟩|\[phone\]/.exec(textOf(request))?.[0];
      return { content: `# Household notes\n- Our GP's number: ${phone}` };
    });
    await h.send(`Our GP's number is ${GP}.`);
    const diary = "morning blood pressure diary entry, ".repeat(45);
    for (let turn = 1; turn <= 12 && !h.fake.chatRequests.some(isConsolidation); turn++) await h.send(diary);
    expect(h.fake.chatRequests.some(isConsolidation)).toBe(true);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toContain(`Our GP's number: ${GP}`);

    h.fake.enqueue({ content: "Your GP is on ⟨phone-1⟩." });
    expect(await h.send("What is our GP's number?")).toBe(`Your GP is on ${GP}.`);
    for (const request of h.fake.chatRequests) expect(JSON.stringify(request.body)).not.toMatch(REAL_DIGITS);
  });
});

describe("retired pseudonyms", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("are refused once grants narrow: the set-aside conversation's values are no longer put back", async () => {
    h = await startAgent();
    const origin = { channel: "test", chatId: "family-chat" };
    const sam = (grants: string[]) => ({ person: "sam", channel: "test", grants });
    await h.agent.handle({
      sessionKey: BOB,
      text: `Dad's GP: ${GP}`,
      origin,
      actor: sam(["dad", "grandma"]),
    });
    h.fake.enqueue({ content: "Dad's GP is on ⟨phone-1⟩." });
    const reply = await h.agent.handle({
      sessionKey: BOB,
      text: "Dad's GP?",
      origin,
      actor: sam(["grandma"]),
    });
    expect(reply).toBe("Dad's GP is on (unknown phone number).");
  });
});

describe("Pseudonyms", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("names each value once per kind, whatever its spelling, and reveals only its own", async () => {
    h = await startAgent();
    const { db } = h.agent.archive;
    const alice = new Pseudonyms(db, ALICE);
    expect(alice.mask(`call ${LI_WEI} or +8613800138000, mail Wu@Clinic.example or wu@clinic.example`)).toBe(
      "call ⟨phone-1⟩ or ⟨phone-1⟩, mail ⟨email-1⟩ or ⟨email-1⟩",
    );
    expect(alice.mask(`GP ${GP}`)).toBe("GP ⟨phone-2⟩");
    expect(new Pseudonyms(db, BOB).mask(`GP ${GP}`)).toBe("GP ⟨phone-1⟩");
    expect(alice.reveal("⟨phone-2⟩ and ⟨email-1⟩")).toEqual({
      text: `${GP} and Wu@Clinic.example`,
      refused: [],
    });
    expect(alice.reveal("⟨phone-3⟩, 〈phone-1〉, [email], ⟨Phone-1⟩").refused).toEqual([
      "⟨phone-3⟩",
      "〈phone-1〉",
      "[email]",
      "⟨Phone-1⟩",
    ]);
  });

  // Linear time: a super-linear pass takes minutes at 1 MB; the bounds leave room for a loaded machine.
  it("masks and reveals 1 MB of every hostile shape in linear time", async () => {
    h = await startAgent();
    for (const { shape, text } of redactionShapes(1_000_000)) {
      const pseudonyms = new Pseudonyms(h.agent.archive.db, `bench:${shape}`);
      const started = performance.now();
      pseudonyms.reveal(pseudonyms.mask(text));
      expect(performance.now() - started, shape).toBeLessThan(10_000);
    }
    const started = performance.now();
    new Pseudonyms(h.agent.archive.db, ALICE).reveal(`<phone${" ".repeat(1_000_000)}⟨phone-1`.repeat(2));
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe("tools that send off the machine", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("get the pseudonym as written, never the real value; archive tools get the real value", async () => {
    h = await startAgent();
    const pseudonyms = new Pseudonyms(h.agent.archive.db, ALICE);
    expect(pseudonyms.mask(`GP ${GP}`)).toBe("GP ⟨phone-1⟩");
    const calls = (args: string) => [
      { id: "1", name: "web_fetch", arguments: args },
      { id: "2", name: "drug_interaction_check", arguments: args },
      { id: "3", name: "family_record", arguments: args },
    ];
    const model: ChatProvider = {
      name: "fake",
      model: "m",
      complete: async () => ({
        content: "",
        toolCalls: calls(JSON.stringify({ url: "https://x.test/?q=⟨phone-1⟩" })),
      }),
    };
    const reply = await pseudonymisedProvider(model, pseudonyms).complete({ messages: [] });
    const urls = reply.toolCalls.map((call) => JSON.parse(call.arguments).url);
    expect(urls).toEqual([
      "https://x.test/?q=⟨phone-1⟩",
      "https://x.test/?q=⟨phone-1⟩",
      `https://x.test/?q=${GP}`,
    ]);
  });
});
