// Pairing codes: one per sender while valid, expiring, bounded per channel (oldest dropped, re-issue limited); approve and revoke are audited.
import { beforeEach, describe, expect, it } from "vitest";
import {
  CODE_ALPHABET,
  CODE_LENGTH,
  MAX_PENDING_PER_CHANNEL,
  PairingError,
  PairingStore,
  REISSUE_AFTER_DROP_MS,
} from "../../src/access/pairing.js";
import { listAudit } from "../../src/audit/audit-log.js";
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

  it(`are limited to ${MAX_PENDING_PER_CHANNEL} pending per channel: the oldest is dropped, never the new sender`, () => {
    const strangers = Array.from({ length: MAX_PENDING_PER_CHANNEL + 2 }, (_, i) => `stranger${i}`);
    for (const stranger of strangers) {
      expect(store.codeFor("telegram", stranger)).toBeDefined();
      minutes(1);
    }
    const dad = store.codeFor("telegram", "dad");
    expect(dad).toBeDefined();
    const pending = store.pending();
    expect(pending).toHaveLength(MAX_PENDING_PER_CHANNEL);
    expect(pending.at(-1)).toMatchObject({ senderId: "dad", code: dad });
    expect(store.codeFor("email", "ann@example.org")).toBeDefined();
    // Each drop is audited for the owner, naming the sender and no content.
    const drops = listAudit(db).filter((entry) => entry.action === "pairing.dropped");
    expect(drops.every((entry) => entry.actor === "medbot" && entry.channel === "telegram")).toBe(true);
    expect(drops.map((entry) => entry.entityId)).toEqual(
      strangers.slice(0, 3).map((stranger) => `telegram:${stranger}`),
    );
  });

  it("tells whoever listens of each dropped code", () => {
    const heard: string[] = [];
    const told = new PairingStore(
      db,
      () => now,
      (dropped) => heard.push(dropped.senderId),
    );
    for (const sender of ["a", "b", "c", "d"]) told.codeFor("telegram", sender);
    expect(heard).toEqual(["a"]);
  });

  it(`re-issues a dropped sender's code only after ${REISSUE_AFTER_DROP_MS / 60_000} minutes, so no one can churn`, () => {
    for (const sender of ["churner", "s1", "s2", "s3"]) store.codeFor("telegram", sender);
    expect(store.pending().map((request) => request.senderId)).not.toContain("churner");
    expect(store.codeFor("telegram", "churner")).toBeUndefined();
    expect(store.retryAt("telegram", "churner")).toBe("2026-05-01T10:10:00.000Z");
    expect(store.pending().map((request) => request.senderId)).toEqual(["s1", "s2", "s3"]);
    minutes(10);
    expect(store.codeFor("telegram", "churner")).toBeDefined();
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
