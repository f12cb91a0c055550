// A person whose grants were narrowed (a caregiver no longer looking after Dad) starts from a conversation
// without what they were told under the old grants: the model is not shown it again, and /new does not
// carry it into their long-term notes. Widened or unchanged grants keep the conversation.
import { afterEach, describe, expect, it } from "vitest";
import type { Actor } from "../../src/access/actor.js";
import { type Harness, historyOf, isConsolidation, startAgent, textOf, turnRequests } from "./harness.js";

const PEOPLE = { people: { carol: { identities: ["telegram:555"], members: ["dad", "grandma"] } } };

describe("a conversation after the person's grants changed", () => {
  let h: Harness;
  afterEach(() => h.close());

  const asCarol = (grants: readonly string[], text: string) => {
    const actor: Actor = { person: "carol", channel: "telegram", grants, identities: ["telegram:555"] };
    return h.agent.handle({
      sessionKey: "telegram:555:555",
      text,
      origin: { channel: "telegram", chatId: "555" },
      actor,
    });
  };

  it("shows the model none of what was said under wider grants once they were narrowed", async () => {
    h = await startAgent({ extraConfig: PEOPLE });
    await asCarol(["dad", "grandma"], "Dad's BP this morning was 152/96");
    await asCarol(["grandma"], "how is grandma?");
    const narrowed = turnRequests(h.fake).at(-1)!;
    expect(historyOf(narrowed)).toEqual([]);
    expect(textOf(narrowed)).not.toContain("152/96");
    // The narrowed conversation goes on as usual.
    await asCarol(["grandma"], "and her sleep?");
    expect(textOf(turnRequests(h.fake).at(-1)!)).toContain("how is grandma?");
  });

  it("does not summarise the earlier conversation into the person's notes on /new", async () => {
    h = await startAgent({ extraConfig: PEOPLE });
    await asCarol(["dad", "grandma"], "Dad's BP this morning was 152/96");
    await asCarol(["grandma"], "/new");
    for (const request of h.fake.chatRequests.filter(isConsolidation)) {
      expect(textOf(request)).not.toContain("152/96");
    }
  });

  it("keeps the conversation when grants stay the same or widen", async () => {
    h = await startAgent({ extraConfig: PEOPLE });
    await asCarol(["grandma"], "grandma slept badly");
    await asCarol(["grandma", "dad"], "and Dad?");
    expect(textOf(turnRequests(h.fake).at(-1)!)).toContain("grandma slept badly");
    await asCarol(["dad", "grandma"], "thanks");
    expect(textOf(turnRequests(h.fake).at(-1)!)).toContain("and Dad?");
  });
});
