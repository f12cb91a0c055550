// The access gate: fail closed, groups only when listed and mentioned, pairing codes as the only reply,
// and every refusal audited without content, at most once per sender per minute.
import { beforeEach, describe, expect, it } from "vitest";
import { createAccessGate, DENIED_AUDIT_INTERVAL_MS, isAllowedSender } from "../../src/access/gate.js";
import type { AccessGate } from "../../src/access/gate-contract.js";
import { PairingStore } from "../../src/access/pairing.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { configSchema, type MedbotConfig } from "../../src/config/schema.js";
import { type Db, openDatabase } from "../../src/storage/db.js";

let db: Db;
let now: Date;
const clock = () => now;
const later = (ms: number) => {
  now = new Date(now.getTime() + ms);
};

const direct = (senderId: string) => ({
  channel: "telegram" as const,
  chatId: senderId,
  senderId,
  isGroup: false,
  mentioned: false,
});
const inGroup = (chatId: string, senderId: string, mentioned: boolean) => ({
  channel: "telegram" as const,
  chatId,
  senderId,
  isGroup: true,
  mentioned,
});

function gateFor(
  telegram: Record<string, unknown>,
  people: Record<string, unknown> = {},
): {
  gate: AccessGate;
  config: MedbotConfig;
} {
  const config = configSchema.parse({ channels: { telegram: { enabled: true, ...telegram } }, people });
  return { gate: createAccessGate(config, db, clock), config };
}

beforeEach(() => {
  db = openDatabase(":memory:");
  now = new Date("2026-05-01T10:00:00Z");
});

describe("direct messages", () => {
  it("lets nobody in when allowFrom is empty, and replies nothing", () => {
    const { gate } = gateFor({ allowFrom: [] });
    expect(gate.check(direct("100"))).toEqual({ allowed: false, reason: "sender not in allowFrom" });
  });

  it("lets a listed sender in as their person with their grants", () => {
    const { gate } = gateFor(
      { allowFrom: ["100", "200"] },
      { ann: { identities: ["telegram:200"], members: ["grandma"] } },
    );
    expect(gate.check(direct("200"))).toEqual({
      allowed: true,
      actor: { person: "ann", channel: "telegram", grants: ["grandma"], identities: ["telegram:200"] },
    });
    expect(gate.check(direct("100"))).toEqual({
      allowed: true,
      actor: { person: "telegram:100", channel: "telegram", grants: [], identities: ["telegram:100"] },
    });
    expect(gate.check(direct("1000")).allowed).toBe(false);
  });

  it('refuses everyone on a channel that is not enabled, even with "*"', () => {
    const { gate } = gateFor({ enabled: false, allowFrom: ["*"] });
    expect(gate.check(direct("100"))).toEqual({ allowed: false, reason: "channel is not enabled" });
  });
});

describe("groups", () => {
  const settings = { allowFrom: ["100"], groups: ["-500"] };

  it("answers an allowed sender in a listed group only when mentioned", () => {
    const { gate } = gateFor(settings);
    expect(gate.check(inGroup("-500", "100", true)).allowed).toBe(true);
    expect(gate.check(inGroup("-500", "100", false))).toMatchObject({ allowed: false });
  });

  it("ignores an unlisted group even when an allowed sender mentions the bot", () => {
    const { gate } = gateFor(settings);
    expect(gate.check(inGroup("-600", "100", true))).toEqual({
      allowed: false,
      reason: "group -600 is not listed in groups",
    });
  });

  it("refuses a sender who is not allowed, even in a listed group", () => {
    const { gate } = gateFor(settings);
    expect(gate.check(inGroup("-500", "999", true))).toEqual({
      allowed: false,
      reason: "sender not in allowFrom",
    });
  });

  it("never sends a pairing code into a group", () => {
    const { gate } = gateFor({ ...settings, dmPolicy: "pairing" });
    const decision = gate.check(inGroup("-500", "999", true));
    expect(decision).toEqual({ allowed: false, reason: "sender not in allowFrom" });
    expect(new PairingStore(db, clock).pending()).toEqual([]);
  });
});

describe("pairing", () => {
  it("gives an unknown sender a code and nothing else, the same code each time", () => {
    const { gate } = gateFor({ dmPolicy: "pairing" });
    const first = gate.check(direct("42"));
    expect(first.allowed).toBe(false);
    const reply = first.allowed ? undefined : first.reply;
    expect(reply).toMatch(/^To use medbot, ask the owner to run: medbot pairing approve [A-Z2-9]{8}$/);
    later(10 * 60_000);
    const again = gate.check(direct("42"));
    expect(again.allowed ? undefined : again.reply).toBe(reply);
  });

  it("lets the sender in once the owner approves, and refuses again after revoke", () => {
    const { gate, config } = gateFor({ dmPolicy: "pairing" });
    const store = new PairingStore(db, clock);
    gate.check(direct("42"));
    const [request] = store.pending();
    store.approve(request!.code);
    expect(isAllowedSender(config, db, direct("42"))).toBe(true);
    expect(gate.check(direct("42"))).toEqual({
      allowed: true,
      actor: { person: "telegram:42", channel: "telegram", grants: [], identities: ["telegram:42"] },
    });
    store.revoke("telegram:42");
    expect(isAllowedSender(config, db, direct("42"))).toBe(false);
    expect(gate.check(direct("42")).allowed).toBe(false);
  });

  it("counts approvals only while the channel uses pairing: allowlist means exactly allowFrom", () => {
    const store = new PairingStore(db, clock);
    store.approve(store.codeFor("telegram", "42")!);
    const { gate, config } = gateFor({ dmPolicy: "allowlist" });
    expect(isAllowedSender(config, db, direct("42"))).toBe(false);
    expect(gate.check(direct("42"))).toEqual({ allowed: false, reason: "sender not in allowFrom" });
  });

  it("issues no code on a channel that uses the plain allow-list", () => {
    const { gate } = gateFor({ dmPolicy: "allowlist" });
    expect(gate.check(direct("42"))).toEqual({ allowed: false, reason: "sender not in allowFrom" });
    expect(new PairingStore(db, clock).pending()).toEqual([]);
  });

  it("still gives a family member a code after three strangers, and warns the owner of the dropped one", () => {
    const config = configSchema.parse({ channels: { telegram: { enabled: true, dmPolicy: "pairing" } } });
    const warnings: unknown[] = [];
    const gate = createAccessGate(config, db, clock, { warn: (...args: unknown[]) => warnings.push(args) });
    for (const sender of ["1", "2", "3"]) {
      expect(gate.check(direct(sender))).toHaveProperty("reply");
      later(1_000);
    }
    const mum = gate.check(direct("4"));
    expect(mum).toMatchObject({ reason: "unknown sender; pairing code sent" });
    expect(mum).toHaveProperty("reply", expect.stringMatching(/medbot pairing approve [A-Z2-9]{8}$/));
    expect(new PairingStore(db, clock).pending().map((request) => request.senderId)).toEqual(["2", "3", "4"]);
    expect(warnings).toEqual([[{ channel: "telegram", sender: "1" }, expect.stringMatching(/dropped/)]]);
    // The dropped stranger is told when to try again, and cannot push anyone out meanwhile.
    expect(gate.check(direct("1"))).toMatchObject({
      reason: "unknown sender; pairing code dropped, new one rate-limited",
      reply: expect.stringMatching(/Write again after 2026-05-01T10:10:03.000Z/),
    });
    expect(new PairingStore(db, clock).pending().map((request) => request.senderId)).toEqual(["2", "3", "4"]);
  });
});

describe("denied attempts in the audit log", () => {
  it("records sender id, channel and reason, and no message content", () => {
    const { gate } = gateFor({ allowFrom: ["100"] });
    gate.check(direct("999"));
    const entries = listAudit(db);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: "unknown",
      channel: "telegram",
      action: "access.denied",
      memberId: null,
      entity: "sender",
      entityId: "999",
      note: "telegram: sender not in allowFrom",
      at: "2026-05-01T10:00:00.000Z",
    });
  });

  it("records at most one entry per sender per minute, however many messages arrive", () => {
    const { gate } = gateFor({ allowFrom: ["100"] });
    for (let i = 0; i < 50; i++) gate.check(direct("999"));
    gate.check(direct("998"));
    expect(listAudit(db).map((e) => e.entityId)).toEqual(["999", "998"]);
    later(DENIED_AUDIT_INTERVAL_MS);
    gate.check(direct("999"));
    expect(listAudit(db).map((e) => e.entityId)).toEqual(["999", "998", "999"]);
  });

  it("records the pairing refusal too, but not group chatter that did not address the bot", () => {
    const { gate } = gateFor({ dmPolicy: "pairing", groups: ["-500"] });
    gate.check(direct("42"));
    gate.check(inGroup("-500", "43", false));
    gate.check(inGroup("-600", "44", false));
    expect(listAudit(db).map((e) => [e.entityId, e.note])).toEqual([
      ["42", "telegram: unknown sender; pairing code sent"],
    ]);
  });

  it("writes nothing for allowed senders or for isAllowedSender", () => {
    const { gate, config } = gateFor({ allowFrom: ["100"] });
    gate.check(direct("100"));
    expect(isAllowedSender(config, db, direct("999"))).toBe(false);
    expect(listAudit(db)).toEqual([]);
  });
});
