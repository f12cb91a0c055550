// The tool loop: tool calls until a final answer or maxToolIterations; bad calls and failing tools are results.
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { fileTools } from "../../src/agent/tools/files.js";
import { defineTool } from "../../src/agent/tools/tool.js";
import { type Harness, startAgent, toolResultsIn } from "./harness.js";

/** A health-flavoured tool with a strict schema, to see what the model is told about bad arguments. */
const recordReading = defineTool({
  name: "record_reading",
  description: "Record a measurement for a family member.",
  parameters: z.object({ member: z.string().min(1), systolic: z.number().int().min(40).max(300) }),
  run: ({ member, systolic }) => `Recorded ${systolic} mmHg for ${member}.`,
});

/** A tool whose backing store is broken. */
const brokenTool = defineTool({
  name: "lookup_allergies",
  description: "Look up a member's allergies.",
  parameters: z.object({ member: z.string() }),
  run: () => {
    throw new Error("allergy table is locked");
  },
});

const tools = [...fileTools, recordReading, brokenTool];

describe("the tool loop", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("runs the requested tools, gives the model their results and returns only its final answer", async () => {
    h = await startAgent({ tools, workspaceFiles: { "notes/diet.md": "No grapefruit with statins.\n" } });
    h.fake.enqueue(
      {
        content: "Let me look at the notes first.",
        toolCalls: [{ name: "read_file", arguments: { path: "notes/diet.md" } }],
      },
      { toolCalls: [{ name: "record_reading", arguments: { member: "mom", systolic: 135 } }] },
      { content: "Saved mom's 135. And remember: no grapefruit with statins." },
    );

    const reply = await h.send("mom's BP is 135, anything to watch?");

    expect(reply).toBe("Saved mom's 135. And remember: no grapefruit with statins.");
    const requests = h.fake.chatRequests;
    expect(requests).toHaveLength(3);
    expect(toolResultsIn(requests[1]!)).toEqual(["No grapefruit with statins.\n"]);
    expect(toolResultsIn(requests[2]!)).toEqual([
      "No grapefruit with statins.\n",
      "Recorded 135 mmHg for mom.",
    ]);
    // The model was offered every tool, with its JSON Schema.
    expect(requests[0]!.body.tools?.map((t) => t.function.name)).toEqual(tools.map((t) => t.name));
    // Tool chatter stays out of the reply and out of the stored conversation.
    expect(reply).not.toContain("Let me look");
    const stored = h.agent.sessions.live("test:family-chat:alice");
    expect(stored.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(stored[1]!.content).toBe(reply);
  });

  it("answers each of several tool calls in one reply, in order, with matching ids", async () => {
    h = await startAgent({ tools });
    h.fake.enqueue(
      {
        toolCalls: [
          { id: "a1", name: "record_reading", arguments: { member: "dad", systolic: 150 } },
          { id: "a2", name: "record_reading", arguments: { member: "mom", systolic: 120 } },
        ],
      },
      { content: "Both saved." },
    );

    expect(await h.send("dad 150, mom 120")).toBe("Both saved.");

    const tail = h.fake.chatRequests[1]!.body.messages.slice(-2);
    expect(tail.map((m) => [m.tool_call_id, m.content])).toEqual([
      ["a1", "Recorded 150 mmHg for dad."],
      ["a2", "Recorded 120 mmHg for mom."],
    ]);
  });

  it("stops after maxToolIterations model requests when the model keeps asking for tools", async () => {
    h = await startAgent({ tools, defaults: { maxToolIterations: 4 } });
    h.fake.onRequest(() => ({ toolCalls: [{ name: "list_dir", arguments: { path: "." } }] }));

    const reply = await h.send("tidy up the workspace");

    expect(h.fake.chatRequests).toHaveLength(4);
    expect(reply).toMatch(/stopped after 4 tool steps/);
    // The turn still counts: the user's message and the explanation are in the history.
    expect(h.agent.sessions.live("test:family-chat:alice").map((m) => m.content.split("\n").at(-1))).toEqual([
      "tidy up the workspace",
      reply,
    ]);
  });

  it("returns a schema violation to the model, naming the field, and carries on", async () => {
    h = await startAgent({ tools });
    h.fake.enqueue(
      { toolCalls: [{ name: "record_reading", arguments: { member: "mom", systolic: "high" } }] },
      { toolCalls: [{ name: "record_reading", arguments: { member: "mom", systolic: 150 } }] },
      { content: "Recorded 150 for mom." },
    );

    const reply = await h.send("mom's systolic is high, 150");

    expect(reply).toBe("Recorded 150 for mom.");
    const [complaint] = toolResultsIn(h.fake.chatRequests[1]!);
    expect(complaint).toMatch(/^Error: invalid arguments for record_reading/);
    expect(complaint).toContain("systolic");
    expect(complaint).toMatch(/expected number/);
    expect(toolResultsIn(h.fake.chatRequests[2]!)[1]).toBe("Recorded 150 mmHg for mom.");
  });

  it("names a missing required argument", async () => {
    h = await startAgent({ tools });
    h.fake.enqueue({ toolCalls: [{ name: "read_file", arguments: {} }] }, { content: "ok" });

    await h.send("read something");

    const [complaint] = toolResultsIn(h.fake.chatRequests[1]!);
    expect(complaint).toMatch(/^Error: invalid arguments for read_file/);
    expect(complaint).toContain("path");
  });

  it("tells the model when its arguments are not JSON at all", async () => {
    h = await startAgent({ tools });
    h.fake.enqueue(
      { toolCalls: [{ name: "record_reading", arguments: '{"member": "mom", "systolic": ' }] },
      { content: "Sorry, let me retry that later." },
    );

    expect(await h.send("mom 140")).toBe("Sorry, let me retry that later.");
    const [complaint] = toolResultsIn(h.fake.chatRequests[1]!);
    expect(complaint).toMatch(/^Error: the arguments for record_reading are not valid JSON/);
  });

  it("tells the model when it calls a tool that does not exist, listing the real ones", async () => {
    h = await startAgent({ tools });
    h.fake.enqueue(
      { toolCalls: [{ name: "prescribe_antibiotics", arguments: { drug: "amoxicillin" } }] },
      { content: "I can't prescribe; please see a doctor." },
    );

    expect(await h.send("give me antibiotics")).toBe("I can't prescribe; please see a doctor.");
    const [complaint] = toolResultsIn(h.fake.chatRequests[1]!);
    expect(complaint).toContain('no tool named "prescribe_antibiotics"');
    expect(complaint).toContain("record_reading");
  });

  it("turns a throwing tool into an error result and still reaches a final answer", async () => {
    h = await startAgent({ tools });
    h.fake.enqueue(
      { toolCalls: [{ name: "lookup_allergies", arguments: { member: "dad" } }] },
      { content: "I couldn't check dad's allergies just now." },
    );

    const reply = await h.send("is dad allergic to penicillin?");

    expect(reply).toBe("I couldn't check dad's allergies just now.");
    expect(toolResultsIn(h.fake.chatRequests[1]!)).toEqual([
      "Error: lookup_allergies failed: allergy table is locked",
    ]);
    expect(h.warnings).toEqual([]);
    expect(h.agent.sessions.live("test:family-chat:alice")).toHaveLength(2);
  });

  it("keeps a model's <think> reasoning out of the reply and the history", async () => {
    h = await startAgent({ tools });
    h.fake.enqueue({ content: "<think>The user seems anxious; dad is 70.</think>\nDrink water and rest." });

    const reply = await h.send("dad has a mild headache");

    expect(reply).toBe("Drink water and rest.");
    expect(h.agent.sessions.live("test:family-chat:alice")[1]!.content).toBe("Drink water and rest.");
  });
});
