// drug_interaction_check: DDInter answers (through a loopback fake), the SQLite cache, and what the reply says
// when there is no interaction, or when DDInter could not be asked.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { drugInteractionCheck, SAFETY_NOTE } from "../../src/agent/tools/drug-interactions.js";
import { runToolCall, type ToolContext } from "../../src/agent/tools/tool.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { checkInteractions, type DrugInteractionOptions } from "../../src/archive/drug-interactions.js";
import { configSchema } from "../../src/config/schema.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { FakeDdinter } from "../support/fake-ddinter.js";

let db: Db;
let archive: FamilyArchive;
let ddinter: FakeDdinter;
const owner = hostOwner("test");

beforeEach(async () => {
  db = openDatabase(":memory:");
  archive = new FamilyArchive(db);
  ddinter = await FakeDdinter.start();
});

afterEach(async () => {
  await ddinter.close();
  db.close();
});

function options(extra: Partial<DrugInteractionOptions> = {}): DrugInteractionOptions {
  return { baseUrl: ddinter.url, timeoutMs: 5_000, cacheDays: 30, ...extra };
}

/** Runs the tool as the model would call it. */
function check(args: unknown, actor: Actor = owner, settings: Record<string, unknown> = {}): Promise<string> {
  const config = configSchema.parse({ tools: { drugInteractions: { baseUrl: ddinter.url, ...settings } } });
  const context: ToolContext = {
    workspace: "/nonexistent",
    restrictToWorkspace: true,
    builtinSkills: "/nonexistent",
    sessionKey: "test:chat:alice",
    actor,
    archive,
    config,
  };
  return runToolCall(
    [drugInteractionCheck],
    { id: "c1", name: "drug_interaction_check", arguments: JSON.stringify(args) },
    context,
  );
}

function cacheRows(): { pair_key: string; answer: string }[] {
  return db.prepare("SELECT pair_key, answer FROM drug_interaction_cache ORDER BY pair_key").all() as {
    pair_key: string;
    answer: string;
  }[];
}

describe("looking drugs up in DDInter", () => {
  it("shows a listed interaction with its severity and mechanism, and ends with the safety note", async () => {
    const reply = await check({ drugs: ["Warfarin", "Aspirin"] });
    expect(reply).toMatch(/aspirin \+ warfarin: Major interaction: may be life-threatening/);
    expect(reply).toMatch(/Mechanism: synergy\./);
    expect(reply.endsWith(SAFETY_NOTE)).toBe(true);
  });

  it("checks every pair of up to five drugs, each drug searched once", async () => {
    const results = await checkInteractions(db, ["warfarin", "aspirin", "ibuprofen", "metformin"], options());
    expect(results).toHaveLength(6);
    const severity = (a: string, b: string) => {
      const answer = results.find((r) => r.drugs.join("+") === [a, b].sort().join("+"))?.answer;
      return answer?.kind === "interaction" ? answer.severity : answer?.kind;
    };
    expect(severity("aspirin", "ibuprofen")).toBe("Moderate");
    expect(severity("ibuprofen", "warfarin")).toBe("Major");
    expect(severity("metformin", "warfarin")).toBe("none");
    expect(ddinter.requests.filter((p) => p.startsWith("/check-datasource/"))).toHaveLength(4);
  });

  it("says plainly that finding no interaction is not proof of safety", async () => {
    const reply = await check({ drugs: ["Metformin", "Simvastatin"] });
    expect(reply).toMatch(/metformin \+ simvastatin: no interaction listed\./);
    expect(reply).toMatch(/DDInter lists no interaction between these drugs\./);
    expect(reply).toMatch(/No interaction found is not proof of safety/);
    expect(reply).toMatch(
      /confirm with a pharmacist or doctor, and never stop a prescribed medicine on your own\.$/,
    );
  });

  it("sends only drug names and DDInter ids, never anything about a member", async () => {
    archive.addMember(owner, { displayName: "Dad" });
    archive.add(owner, "Dad", "medications", medication("Metformin"), "reported");
    await check({ drugs: ["warfarin", "aspirin"], member: "Dad" });
    expect(
      ddinter.requests.every((p) =>
        /^\/(check-datasource\/(warfarin|aspirin)|ddinter\/grapher-datasource\/DDInter\d+)\/$/.test(p),
      ),
    ).toBe(true);
    expect(cacheRows().map((r) => r.pair_key)).toEqual(['["aspirin","warfarin"]']);
    expect(JSON.stringify(cacheRows())).not.toMatch(/dad|metformin/i);
  });

  it("names a drug DDInter does not know, with its closest names, instead of saying there is no interaction", async () => {
    const reply = await check({ drugs: ["aspir", "warfarin"] });
    expect(reply).toMatch(/could not check: "aspir" is not in DDInter \(DDInter has: Aspirin\)/);
    expect(reply).toMatch(/^Could not check 1 of 1 pairs/);
    expect(reply).not.toMatch(/no interaction listed/);
  });
});

describe("the cache", () => {
  it("answers a pair asked before from SQLite, without a request", async () => {
    await checkInteractions(db, ["Warfarin", "Aspirin"], options());
    const before = ddinter.requests.length;
    expect(before).toBeGreaterThan(0);
    const again = await checkInteractions(db, ["aspirin", "warfarin"], options());
    expect(ddinter.requests).toHaveLength(before);
    expect(again[0]).toMatchObject({ cached: true, answer: { kind: "interaction", severity: "Major" } });
  });

  it("asks again once the cached answer is older than cacheDays", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const clock = () => now;
    await checkInteractions(db, ["warfarin", "aspirin"], options({ clock }));
    const before = ddinter.requests.length;
    now = new Date("2026-03-01T00:00:00Z");
    const later = await checkInteractions(db, ["warfarin", "aspirin"], options({ clock }));
    expect(ddinter.requests.length).toBeGreaterThan(before);
    expect(later[0]?.cached).toBe(false);
  });

  it("normalises names (case, spaces) so one pair has one cache row", async () => {
    await checkInteractions(db, ["  WARFARIN ", "Aspirin"], options());
    expect(ddinter.requests).toContain("/check-datasource/warfarin/");
    const before = ddinter.requests.length;
    const again = await checkInteractions(db, ["aspirin", "warfarin"], options());
    expect(ddinter.requests).toHaveLength(before);
    expect(again[0]?.cached).toBe(true);
    expect(cacheRows()).toHaveLength(1);
  });

  it("refuses the same drug twice under two spellings", async () => {
    expect(await check({ drugs: ["Warfarin", " warfarin"] })).toMatch(/^Error: .*Name each drug once/);
    expect(ddinter.requests).toHaveLength(0);
  });
});

describe("when DDInter cannot be asked", () => {
  it("says it could not check, and which pairs, when DDInter is offline", async () => {
    await ddinter.close();
    const reply = await check({ drugs: ["warfarin", "aspirin", "metformin"] });
    expect(reply).toMatch(/^Could not check 3 of 3 pairs; for those this is not a "no interaction" answer\./);
    expect(reply).toMatch(/aspirin \+ warfarin: could not check: DDInter could not be reached/);
    expect(reply).toMatch(/aspirin \+ metformin: could not check/);
    expect(reply).not.toMatch(/no interaction listed|lists no interaction/);
    expect(reply.endsWith(SAFETY_NOTE)).toBe(true);
    expect(cacheRows()).toHaveLength(0);
  });

  it("says it could not check on a server error, caches nothing, and asks again next time", async () => {
    ddinter.fail({ status: 503 });
    const reply = await check({ drugs: ["warfarin", "aspirin"] });
    expect(reply).toMatch(/could not check: DDInter answered with an error \(HTTP 503\)/);
    expect(cacheRows()).toHaveLength(0);
    expect(await check({ drugs: ["warfarin", "aspirin"] })).toMatch(/Major interaction/);
  });

  it("says it could not check when the answer is not DDInter's JSON, or the connection drops", async () => {
    ddinter.fail({ notJson: true });
    expect(await check({ drugs: ["warfarin", "aspirin"] })).toMatch(/not in the expected format/);
    ddinter.fail({ hangUp: true });
    expect(await check({ drugs: ["warfarin", "aspirin"] })).toMatch(
      /could not check: DDInter could not be reached/,
    );
  });

  it("gives up on a request that gets no answer within the timeout", async () => {
    ddinter.fail({ stall: true });
    const results = await checkInteractions(db, ["warfarin", "aspirin"], options({ timeoutMs: 200 }));
    expect(results[0]?.answer).toEqual({
      kind: "unavailable",
      reason: "DDInter did not answer within 0.2 s",
    });
  });

  it("refuses to send drug names over plain http to another machine", async () => {
    await expect(
      checkInteractions(db, ["warfarin", "aspirin"], options({ baseUrl: "http://ddinter.scbdd.com" })),
    ).rejects.toThrow(/must use https/);
  });

  it("says it could not check when lookups are switched off, and sends nothing", async () => {
    const reply = await check({ drugs: ["warfarin", "aspirin"] }, owner, { enabled: false });
    expect(reply).toMatch(/^Could not check: DDInter lookups are switched off/);
    expect(ddinter.requests).toHaveLength(0);
  });
});

describe("the tool's arguments and the member's context", () => {
  it("takes 2 to 5 drug names", async () => {
    expect(await check({ drugs: ["warfarin"] })).toMatch(
      /^Error: invalid arguments for drug_interaction_check/,
    );
    expect(await check({ drugs: ["a", "b", "c", "d", "e", "f"] })).toMatch(/^Error: invalid arguments/);
    expect(await check({ drugs: ["warfarin", ""] })).toMatch(/^Error: invalid arguments/);
    expect(ddinter.requests).toHaveLength(0);
  });

  it("adds the member's active medications and drug allergies to the reply", async () => {
    archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad"] });
    archive.add(owner, "Dad", "medications", medication("Metformin", "500 mg"), "reported");
    archive.add(owner, "Dad", "medications", { ...medication("Amoxicillin"), state: "stopped" }, "reported");
    archive.add(owner, "Dad", "facts", allergy("penicillin", "rash"), "reported");
    archive.add(owner, "Dad", "facts", { ...allergy("peanuts", null), category: "food_allergy" }, "reported");
    const reply = await check({ drugs: ["warfarin", "aspirin"], member: "dad" });
    expect(reply).toMatch(/爸爸's active medications: Metformin 500 mg twice daily\./);
    expect(reply).toMatch(/爸爸's drug allergies: penicillin \(rash\)\./);
    expect(reply).not.toMatch(/Amoxicillin|peanuts/);
    expect(reply.endsWith(SAFETY_NOTE)).toBe(true);
  });

  it("refuses a member the person is not granted, before asking DDInter", async () => {
    archive.addMember(owner, { displayName: "Dad" });
    const caregiver: Actor = { person: "ann", channel: "telegram", grants: [] };
    expect(await check({ drugs: ["warfarin", "aspirin"], member: "Dad" }, caregiver)).toMatch(
      /^Error: .*No family member called "Dad"/,
    );
    expect(ddinter.requests).toHaveLength(0);
  });
});

function medication(name: string, dose: string | null = null) {
  return {
    name,
    dose,
    route: null,
    frequency: "twice daily",
    timesOfDay: [],
    timezone: null,
    startDate: null,
    stopDate: null,
    reason: null,
    state: "active" as const,
  };
}

function allergy(text: string, details: string | null) {
  return { category: "drug_allergy" as const, text, details, since: null };
}
