// People: a sender acts as their person with exactly that person's grants; strangers get no members.
import { describe, expect, it } from "vitest";
import { mayAccess } from "../../src/access/actor.js";
import { actorFor, peopleProblems } from "../../src/access/people.js";
import { configSchema } from "../../src/config/schema.js";

const config = configSchema.parse({
  people: {
    dad: { identities: ["telegram:100", "email:Dad@Example.org"], members: "*" },
    ann: { identities: ["telegram:200"], members: ["grandma"] },
  },
});

describe("actorFor", () => {
  it("gives an owner every member", () => {
    expect(actorFor(config, "telegram", "100", "m-1")).toEqual({
      person: "dad",
      channel: "telegram",
      messageId: "m-1",
      grants: "*",
      identities: ["telegram:100", "email:dad@example.org"],
    });
  });

  it("gives a caregiver granted only grandma exactly that grant", () => {
    const ann = actorFor(config, "telegram", "200");
    expect(ann.person).toBe("ann");
    expect(ann.grants).toEqual(["grandma"]);
    expect(mayAccess(ann, "grandma")).toBe(true);
    expect(mayAccess(ann, "dad")).toBe(false);
  });

  it("finds an email identity whatever the case of the address", () => {
    expect(actorFor(config, "email", "dad@example.ORG").person).toBe("dad");
  });

  it("makes an allowed sender who is no person channel:id with no members", () => {
    const stranger = actorFor(config, "telegram", "300");
    expect(stranger).toEqual({
      person: "telegram:300",
      channel: "telegram",
      grants: [],
      identities: ["telegram:300"],
    });
    expect(mayAccess(stranger, "grandma")).toBe(false);
  });

  it("does not match an identity of another channel with the same id", () => {
    expect(actorFor(config, "whatsapp", "100").person).toBe("whatsapp:100");
  });
});

describe("peopleProblems", () => {
  it("finds nothing wrong when every identity belongs to one person", () => {
    expect(peopleProblems(config)).toEqual([]);
  });

  it("reports an identity listed under two people, email case aside", () => {
    const twice = configSchema.parse({
      people: {
        dad: { identities: ["telegram:100", "email:ann@example.org"], members: "*" },
        ann: { identities: ["email:Ann@Example.org"], members: ["grandma"] },
      },
    });
    expect(peopleProblems(twice)).toEqual([
      'people: email:ann@example.org is listed under both "dad" and "ann"; keep it under one person',
    ]);
  });
});
