// Pairing codes: one per sender while valid, expiring, bounded per channel; approve and revoke are audited.
import { beforeEach, describe, expect, it } from "vitest";
import {
  CODE_ALPHABET,
  CODE_LENGTH,
  MAX_PENDING_PER_CHANNEL,
  PairingError,
  PairingStore,
} from "../../src/access/pairing.js";
import { listAudit } from "../../src/security/audit-log.js";
import { type Db, openDatabase } from "../../src/storage/db.js";

let db: Db;
let now: Date;
let store: PairingStore;
const minutes = (n: number) => {
  now = new Date(now.getTime() + n * 60_000);
};

beforeEach(() => {
  db = openDatabase(":memory:");
  now = new Date("2026-05-01T10:00:00Z");
  store = new PairingStore(db, () => now);
});

describe("pairing codes", () => {
  it("are 8 characters from an alphabet without look-alikes", () => {
    const code = store.codeFor("telegram", "42")!;
    expect(code).toHaveLength(CODE_LENGTH);
    expect([...code].every((c) => CODE_ALPHABET.includes(c))).toBe(true);
    expect(CODE_ALPHABET).not.toMatch(/[01IOL]/);
  });

  it("are issued once per sender and reused while valid", () => {
    const first = store.codeFor("telegram", "42");
    minutes(30);
    expect(store.codeFor("telegram", "42")).toBe(first);
    expect(store.pending()).toHaveLength(1);
  });

  it("differ between senders", () => {
    expect(store.codeFor("telegram", "42")).not.toBe(store.codeFor("telegram", "43"));
  });

  it("expire after an hour: no longer listed, no longer approvable, and a new code is issued", () => {
    const first = store.codeFor("telegram", "42")!;
    minutes(61);
    expect(store.pending()).toEqual([]);
    expect(() => store.approve(first)).toThrow(/expired at 2026-05-01T11:00:00.000Z/);
    const second = store.codeFor("telegram", "42");
    expect(second).not.toBe(first);
    expect(store.isApproved("telegram", "42")).toBe(false);
  });

  it(`are limited to ${MAX_PENDING_PER_CHANNEL} pending per channel`, () => {
    for (let i = 0; i < MAX_PENDING_PER_CHANNEL; i++)
      expect(store.codeFor("telegram", `s${i}`)).toBeDefined();
    expect(store.codeFor("telegram", "one-too-many")).toBeUndefined();
    expect(store.codeFor("email", "ann@example.org")).toBeDefined();
    minutes(61);
    expect(store.codeFor("telegram", "one-too-many")).toBeDefined();
  });
});

describe("approve and revoke", () => {
  it("approves the sender holding the code (any case), once, and audits it without content", () => {
    const code = store.codeFor("telegram", "42")!;
    expect(store.approve(` ${code.toLowerCase()} `)).toEqual({ channel: "telegram", senderId: "42" });
    expect(store.isApproved("telegram", "42")).toBe(true);
    expect(store.pending()).toEqual([]);
    expect(() => store.approve(code)).toThrow(PairingError);
    const [entry] = listAudit(db);
    expect(entry).toMatchObject({
      actor: "owner",
      channel: "cli",
      action: "pairing.approve",
      entity: "sender",
      entityId: "telegram:42",
    });
  });

  it("refuses an unknown code and changes nothing", () => {
    store.codeFor("telegram", "42");
    expect(() => store.approve("ZZZZZZZZ")).toThrow(/No pending pairing code ZZZZZZZZ/);
    expect(store.pending()).toHaveLength(1);
    expect(listAudit(db)).toEqual([]);
  });

  it("revokes an approval, audited, and refuses to revoke twice", () => {
    store.approve(store.codeFor("telegram", "42")!);
    expect(store.revoke("telegram:42")).toEqual({ channel: "telegram", senderId: "42" });
    expect(store.isApproved("telegram", "42")).toBe(false);
    expect(() => store.revoke("telegram:42")).toThrow(/telegram:42 is not an approved sender/);
    expect(listAudit(db).map((e) => [e.action, e.entityId])).toEqual([
      ["pairing.approve", "telegram:42"],
      ["pairing.revoke", "telegram:42"],
    ]);
  });

  it("names the expected form for a malformed sender", () => {
    for (const bad of ["42", "fax:42", "telegram:"]) {
      expect(() => store.revoke(bad), bad).toThrow(/write channel:id, e.g. telegram:123456/);
    }
  });

  it("treats email senders case-insensitively", () => {
    store.approve(store.codeFor("email", "Ann@Example.org")!);
    expect(store.isApproved("email", "ann@example.ORG")).toBe(true);
    store.revoke("email:ANN@example.org");
    expect(store.isApproved("email", "ann@example.org")).toBe(false);
  });
});
