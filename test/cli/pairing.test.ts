// `medbot pairing list | approve | revoke` run as the real CLI: the owner lets a code holder in and out.

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createAccessGate } from "../../src/access/gate.js";
import { PairingStore } from "../../src/access/pairing.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { resolvePaths } from "../../src/config/paths.js";
import { configSchema } from "../../src/config/schema.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

const homes: string[] = [];
let home: string;
let database: string;

/** Opens the instance's database, runs `work`, closes it. */
function withStore<T>(work: (store: PairingStore) => T, clock?: () => Date): T {
  const db = openDatabase(database);
  try {
    return work(new PairingStore(db, clock));
  } finally {
    db.close();
  }
}

beforeEach(() => {
  home = tempHome();
  homes.push(home);
  writeConfig(home, { channels: { telegram: { enabled: true, dmPolicy: "pairing", allowFrom: ["7"] } } });
  database = resolvePaths({ configPath: path.join(home, "config.json") }, {}).database;
  fs.mkdirSync(path.dirname(database), { recursive: true, mode: 0o700 });
});

afterAll(() => {
  for (const dir of homes) fs.rmSync(dir, { recursive: true, force: true });
});

describe("medbot pairing", () => {
  it("lists pending codes with channel, sender, code and expiry", async () => {
    const code = withStore((store) => store.codeFor("telegram", "42"));
    const result = await runMedbot(["pairing", "list"], { home });
    expect(result.code).toBe(0);
    const [header, row] = result.stdout.trim().split("\n");
    expect(header).toMatch(/^CHANNEL +SENDER +CODE +EXPIRES \(UTC\)$/);
    expect(row).toMatch(new RegExp(`^telegram +42 +${code} +\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}Z$`));
  });

  it("lists a family member's code after three strangers asked first (the oldest code was dropped)", async () => {
    const config = configSchema.parse({ channels: { telegram: { enabled: true, dmPolicy: "pairing" } } });
    let now = new Date();
    const db = openDatabase(database);
    try {
      const gate = createAccessGate(config, db, () => now);
      for (const stranger of ["901", "902", "903"]) {
        gate.check({
          channel: "telegram",
          chatId: stranger,
          senderId: stranger,
          isGroup: false,
          mentioned: false,
        });
        now = new Date(now.getTime() + 1_000);
      }
      gate.check({ channel: "telegram", chatId: "42", senderId: "42", isGroup: false, mentioned: false });
    } finally {
      db.close();
    }
    const result = await runMedbot(["pairing", "list"], { home });
    expect(result.code).toBe(0);
    const [pendingTable] = result.stdout.split("\n\n");
    const senders = pendingTable!
      .trim()
      .split("\n")
      .slice(1)
      .map((row) => row.split(/ +/)[1]);
    expect(senders).toEqual(["902", "903", "42"]);
  });

  it("says there is nothing pending, even before any database exists", async () => {
    const result = await runMedbot(["pairing", "list"], { home });
    expect(result).toMatchObject({ code: 0, stdout: "No pending pairing codes.\n\nNo approved senders.\n" });
    expect(fs.existsSync(database)).toBe(false);
  });

  it("lists approved senders with the CHANNEL:ID that revoke takes, beside the pending codes", async () => {
    const code = withStore((store) => {
      store.approve(store.codeFor("telegram", "42")!);
      store.approve(store.codeFor("email", "Ann@Example.org")!);
      return store.codeFor("telegram", "99");
    });
    const result = await runMedbot(["pairing", "list"], { home });
    expect(result.code).toBe(0);
    const [pending, approved] = result.stdout.trim().split("\n\n");
    expect(pending!.split("\n")[1]).toMatch(new RegExp(`^telegram +99 +${code} `));
    const lines = approved!.split("\n");
    expect(lines[0]).toBe("Approved senders (shut one out with: medbot pairing revoke SENDER):");
    expect(lines[1]).toMatch(/^SENDER +APPROVED \(UTC\)$/);
    expect(
      lines
        .slice(2)
        .map((row) => row.split(/ +/)[0])
        .sort(),
    ).toEqual(["email:ann@example.org", "telegram:42"]);
    expect(lines[2]).toMatch(/ \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);

    const json = JSON.parse((await runMedbot(["pairing", "list", "--json"], { home })).stdout);
    expect(json.pending).toEqual([expect.objectContaining({ channel: "telegram", senderId: "99", code })]);
    expect(json.approved.map((a: { sender: string }) => a.sender).sort()).toEqual([
      "email:ann@example.org",
      "telegram:42",
    ]);
    expect(json.approved[0]).toEqual({
      sender: expect.any(String),
      channel: expect.any(String),
      senderId: expect.any(String),
      approvedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });

    // The listed id is the one revoke takes.
    const revoked = await runMedbot(["pairing", "revoke", "email:ann@example.org"], { home });
    expect(revoked.code).toBe(0);
    const after = JSON.parse((await runMedbot(["pairing", "list", "--json"], { home })).stdout);
    expect(after.approved.map((a: { sender: string }) => a.sender)).toEqual(["telegram:42"]);
  });

  it("approves a code, prints who, and audits it as the host owner", async () => {
    const code = withStore((store) => store.codeFor("telegram", "42"))!;
    const result = await runMedbot(["pairing", "approve", code], { home });
    expect(result).toMatchObject({ code: 0, stdout: "Approved telegram:42; they can talk to medbot now.\n" });
    expect(withStore((store) => store.isApproved("telegram", "42"))).toBe(true);
    const db = openDatabase(database);
    expect(listAudit(db).map((e) => [e.actor, e.channel, e.action, e.entityId])).toEqual([
      ["owner", "cli", "pairing.approve", "telegram:42"],
    ]);
    db.close();
  });

  it("refuses an unknown code with exit 1", async () => {
    withStore((store) => store.codeFor("telegram", "42"));
    const result = await runMedbot(["pairing", "approve", "ZZZZZZZZ"], { home });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /No pending pairing code ZZZZZZZZ; see the pending codes with: medbot pairing list/,
    );
    expect(withStore((store) => store.isApproved("telegram", "42"))).toBe(false);
  });

  it("refuses an expired code with exit 1", async () => {
    const code = withStore(
      (store) => store.codeFor("telegram", "42"),
      () => new Date(Date.now() - 2 * 3_600_000),
    )!;
    const result = await runMedbot(["pairing", "approve", code], { home });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`Pairing code ${code} expired at .*ask the sender to message the bot again`),
    );
  });

  it("revokes an approved sender, and refuses one that is not approved", async () => {
    withStore((store) => store.approve(store.codeFor("telegram", "42")!));
    const revoked = await runMedbot(["pairing", "revoke", "telegram:42"], { home });
    expect(revoked).toMatchObject({
      code: 0,
      stdout: "Revoked telegram:42; their messages are refused from now on.\n",
    });
    expect(withStore((store) => store.isApproved("telegram", "42"))).toBe(false);
    const again = await runMedbot(["pairing", "revoke", "telegram:42"], { home });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/telegram:42 is not an approved sender/);
    const malformed = await runMedbot(["pairing", "revoke", "42"], { home });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/"42" is not a sender; write channel:id/);
  });

  it("warns when a revoked sender is still in allowFrom", async () => {
    withStore((store) => store.approve(store.codeFor("telegram", "7")!));
    const result = await runMedbot(["pairing", "revoke", "telegram:7"], { home });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /telegram:7 is still let in by channels.telegram.allowFrom; remove it there too/,
    );
  });
});
