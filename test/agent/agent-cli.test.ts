// `medbot agent -m` end to end against the fake model: provider failures and sessions, as a user sees them.
import * as fs from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { fakeProviderConfig, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";
import { historyOf, textOf } from "./harness.js";

const STACK_FRAME = /^\s+at .+/m;

describe("medbot agent -m, end to end", () => {
  let fake: FakeOpenAI;
  let home: string;
  beforeEach(async () => {
    fake = await FakeOpenAI.start();
    home = tempHome();
    writeConfig(home, fakeProviderConfig(fake.url));
  });
  afterEach(async () => {
    await fake.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("rides out two 503s and prints the answer", async () => {
    const busy = { status: 503, headers: { "retry-after-ms": "10" } };
    fake.enqueue(busy, busy, { content: "Take it with food." });

    const result = await runMedbot(["agent", "-m", "how do I take ibuprofen?"], { home });

    expect(result.stdout).toBe("Take it with food.\n");
    expect(result.code).toBe(0);
    expect(fake.chatRequests).toHaveLength(3);
  });

  it("says briefly that the provider keeps failing and exits 1, with no stack trace anywhere", async () => {
    fake.onRequest(() => ({
      status: 503,
      headers: { "retry-after-ms": "5" },
      body: { error: { message: "upstream-secret overloaded" } },
    }));

    const result = await runMedbot(["agent", "-m", "hello"], { home });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      `the model could not answer: the provider failed (HTTP 503) at API base ${fake.url}`,
    );
    expect(result.stdout + result.stderr).not.toMatch(STACK_FRAME);
    expect(result.stderr).not.toMatch(/Error:/);
    expect(fake.chatRequests.length).toBeGreaterThan(1);
  });

  it("keeps -s sessions apart and each one's history across runs", async () => {
    await runMedbot(["agent", "-s", "a", "-m", "my daughter is allergic to peanuts"], { home });
    await runMedbot(["agent", "-s", "b", "-m", "what do you know about allergies here?"], { home });
    await runMedbot(["agent", "-s", "a", "-m", "what did I tell you?"], { home });

    const [first, inB, againInA] = fake.chatRequests;
    expect(historyOf(first!)).toEqual([]);
    expect(historyOf(inB!)).toEqual([]);
    expect(textOf(inB!)).not.toContain("peanuts");
    expect(historyOf(againInA!).map((m) => m.content?.split("\n").at(-1))).toEqual([
      "my daughter is allergic to peanuts",
      "echo: my daughter is allergic to peanuts",
    ]);
    expect(againInA!.body.messages.at(-1)?.content).toMatch(/chat a\]\nwhat did I tell you\?$/);
  });
});
