// The email sender decision on its own: which Authentication-Results header is the receiving server's,
// what a DKIM signature proves (real mailauth, keys from a fake resolver), one From with one address, and
// which mail is automatic. The same attacks go through the real mail server in email.test.ts.
import nodemailer from "nodemailer";
import { describe, expect, it } from "vitest";
import { senderAuthenticated } from "../../src/channels/email-auth.js";
import {
  automaticMailReason,
  proveSender,
  repeatedHeaderProblem,
  singleFromAddress,
} from "../../src/channels/email-verify.js";
import { dkimTestKey, fakeResolver, signingDomainRecords } from "../support/dkim.js";

const BOB = "bob@example.test";
const PASS = "dkim=pass header.d=example.test";
const SERVER_STAMP =
  "Received: from sender.test (sender.test [192.0.2.7]) by mail.example.test (Postfix)\r\n";
const ar = (id: string, value: string) => `Authentication-Results: ${id}; ${value}\r\n`;

describe("Authentication-Results: only the receiving server's own header counts", () => {
  it("counts no header at all without authservId, even one on top", () => {
    expect(senderAuthenticated(`${ar("mail.example.test", PASS)}${SERVER_STAMP}From: x\r\n`, BOB)).toBe(
      false,
    );
    expect(senderAuthenticated(`${ar("mail.example.test", PASS)}From: x\r\n`, BOB, "")).toBe(false);
  });

  it("counts the configured server's header above its Received stamp", () => {
    const genuine = `${ar("mail.example.test", PASS)}${SERVER_STAMP}From: x\r\n`;
    expect(senderAuthenticated(genuine, BOB, "mail.example.test")).toBe(true);
    expect(senderAuthenticated(genuine, BOB, "Mail.Example.Test")).toBe(true);
    const spf = `${ar("mail.example.test", `spf=pass smtp.mailfrom=${BOB}`)}${SERVER_STAMP}`;
    expect(senderAuthenticated(spf, BOB, "mail.example.test")).toBe(true);
    const folded = `Authentication-Results: mail.example.test;\r\n\tdkim=pass\r\n header.d=example.test\r\n${SERVER_STAMP}`;
    expect(senderAuthenticated(folded, BOB, "mail.example.test")).toBe(true);
  });

  it("never counts a header the sender wrote, whatever its id or place", () => {
    const id = "mail.example.test";
    // Below the server's Received stamp: the sender's own header block.
    expect(senderAuthenticated(`${SERVER_STAMP}${ar(id, PASS)}From: x\r\n`, BOB, id)).toBe(false);
    // No Received stamp at all (a server that adds nothing, or IMAP APPEND): nothing is the server's.
    expect(senderAuthenticated(`${ar(id, PASS)}From: x\r\n`, BOB, id)).toBe(false);
    // The sender's forged stamp and header under the server's real stamp.
    const nested = `${SERVER_STAMP}${ar(id, PASS)}${SERVER_STAMP}From: x\r\n`;
    expect(senderAuthenticated(nested, BOB, id)).toBe(false);
    // Another server's id, or a look-alike of ours.
    expect(senderAuthenticated(`${ar("evil.test", PASS)}${SERVER_STAMP}`, BOB, id)).toBe(false);
    expect(senderAuthenticated(`${ar(`${id}.evil.test`, PASS)}${SERVER_STAMP}`, BOB, id)).toBe(false);
  });

  it("needs a pass for the From domain itself, and no failing header of ours above it", () => {
    const id = "mail.example.test";
    const check = (value: string) => senderAuthenticated(`${ar(id, value)}${SERVER_STAMP}`, BOB, id);
    expect(check("dkim=fail header.d=example.test")).toBe(false);
    expect(check("dkim=pass header.d=example.test.evil")).toBe(false);
    expect(check("dkim=pass header.d=examp1e.test")).toBe(false);
    expect(check("spf=pass smtp.mailfrom=eve@attacker.test")).toBe(false);
    const ours = `${ar(id, "dkim=fail header.d=example.test")}${ar(id, PASS)}${SERVER_STAMP}`;
    expect(senderAuthenticated(ours, BOB, id)).toBe(false);
  });
});

describe("the From header", () => {
  it("names exactly one address, in one From header", () => {
    expect(singleFromAddress(`From: Bob <${BOB}>\r\nTo: a\r\n`)).toEqual({ address: BOB });
    expect(singleFromAddress(`From: "alice@example.test" <eve@evil.test>\r\n`)).toEqual({
      address: "eve@evil.test",
    });
    expect(singleFromAddress(`From: ${BOB}\r\nFrom: eve@evil.test\r\n`)).toEqual({
      problem: "the mail has 2 From headers",
    });
    expect(singleFromAddress(`From: ${BOB}, eve@evil.test\r\n`)).toEqual({
      problem: "the From header names 2 addresses",
    });
    expect(singleFromAddress(`From: family: ${BOB};\r\n`)).toEqual({
      problem: "the From header names a group, not one address",
    });
    expect(singleFromAddress("To: a\r\n")).toEqual({ problem: "the mail has no From header" });
  });
});

describe("headers a mail may have only once", () => {
  it("refuses a second Subject, Content-Type or Message-ID (one a signature would not cover)", () => {
    expect(repeatedHeaderProblem("Subject: BP\r\nFrom: x\r\n")).toBeUndefined();
    expect(repeatedHeaderProblem("Subject: stop the pills\r\nFrom: x\r\nSubject: BP\r\n")).toEqual({
      problem: "the mail has 2 Subject headers",
    });
    expect(repeatedHeaderProblem("Content-Type: text/plain\r\ncontent-type: text/html\r\n")).toEqual({
      problem: "the mail has 2 Content-Type headers",
    });
    expect(
      repeatedHeaderProblem("Received: a\r\nReceived: b\r\nDKIM-Signature: x\r\nDKIM-Signature: y\r\n"),
    ).toBeUndefined();
  });
});

describe("automatic and mailing-list mail", () => {
  it("names why a mail must not be answered", () => {
    expect(automaticMailReason("Auto-Submitted: auto-replied\r\n")).toMatch(/Auto-Submitted: auto-replied/);
    expect(automaticMailReason("Auto-Submitted: auto-generated (vacation)\r\n")).toMatch(/auto-generated/);
    expect(automaticMailReason("List-Id: <family.lists.example.test>\r\n")).toMatch(/List-Id/);
    expect(automaticMailReason("List-Unsubscribe: <mailto:x@example.test>\r\n")).toMatch(/List-Unsubscribe/);
    for (const precedence of ["bulk", "junk", "list", "Bulk"]) {
      expect(automaticMailReason(`Precedence: ${precedence}\r\n`)).toMatch(/Precedence/);
    }
    expect(automaticMailReason("Auto-Submitted: no\r\nPrecedence: first-class\r\n")).toBeUndefined();
    expect(automaticMailReason(`From: ${BOB}\r\n`)).toBeUndefined();
  });
});

describe("DKIM and DMARC, verified here with mailauth", async () => {
  const key = dkimTestKey();
  const otherKey = dkimTestKey();
  const resolver = fakeResolver({
    ...signingDomainRecords("example.test", "medbot", key.publicKeyBase64),
    ...signingDomainRecords("evil.test", "s1", otherKey.publicKeyBase64),
  });
  const signed = async (from: string, domainName: string, privateKey: string, selector: string) => {
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const info = await transport.sendMail({
      from,
      to: "alice@example.test",
      subject: "BP",
      text: "blood pressure 128/82",
      dkim: { domainName, keySelector: selector, privateKey },
    });
    return info.message as Buffer;
  };
  const options = (fromAddress: string, authservId = "") => ({ fromAddress, authservId, resolver });

  it("proves a mail signed by the From domain", async () => {
    const mail = await signed(BOB, "example.test", key.privateKey, "medbot");
    expect(await proveSender(mail, options(BOB))).toEqual({ proven: true, method: "dkim" });
  });

  it("does not prove a changed body, a foreign signer, or no signature", async () => {
    const mail = (await signed(BOB, "example.test", key.privateKey, "medbot")).toString();
    const changed = mail.replace("128/82", "180/110");
    expect(await proveSender(changed, options(BOB))).toMatchObject({
      proven: false,
      reason: expect.stringMatching(/DKIM signature of example\.test does not verify/),
    });
    const foreign = await signed(BOB, "evil.test", otherKey.privateKey, "s1");
    expect(await proveSender(foreign, options(BOB))).toMatchObject({
      proven: false,
      reason: expect.stringMatching(/evil\.test.*not example\.test/),
    });
    const stolenSelector = await signed(BOB, "example.test", otherKey.privateKey, "medbot");
    expect(await proveSender(stolenSelector, options(BOB))).toMatchObject({ proven: false });
    const unsigned = mail.replace(/^DKIM-Signature:[^\r\n]*(\r\n[ \t][^\r\n]*)*\r\n/m, "");
    expect(unsigned).not.toMatch(/DKIM-Signature/);
    expect(await proveSender(unsigned, options(BOB))).toEqual({
      proven: false,
      reason: "no DKIM signature, and no Authentication-Results header of the configured authservId",
    });
  });

  it("does not prove a From header the signature does not cover", async () => {
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const info = await transport.sendMail({
      from: "carol@example.test",
      to: "alice@example.test",
      subject: "BP",
      text: "blood pressure 128/82",
      dkim: {
        domainName: "example.test",
        keySelector: "medbot",
        privateKey: key.privateKey,
        headerFieldNames: "subject:to",
      },
    });
    // The signature still verifies after the From was rewritten, because it never covered it.
    const rewritten = (info.message as Buffer).toString().replace("From: carol@example.test", `From: ${BOB}`);
    expect(rewritten).toContain(`From: ${BOB}`);
    expect(await proveSender(rewritten, options(BOB))).toMatchObject({
      proven: false,
      reason: expect.stringMatching(/does not cover the From header/),
    });
  });

  it("does not let a look-alike domain's own signature stand for the real one", async () => {
    const lookAlike = fakeResolver(signingDomainRecords("examp1e.test", "medbot", key.publicKeyBase64));
    const mail = await signed("bob@examp1e.test", "examp1e.test", key.privateKey, "medbot");
    // It proves examp1e.test (whose allowFrom entry nobody wrote), never example.test.
    expect(await proveSender(mail, { ...options(BOB), resolver: lookAlike })).toMatchObject({
      proven: false,
    });
    expect(await proveSender(mail, { ...options("bob@examp1e.test"), resolver: lookAlike })).toEqual({
      proven: true,
      method: "dkim",
    });
  });

  it("calls a DNS failure temporary, so the mail is tried again rather than refused for good", async () => {
    const mail = await signed(BOB, "example.test", key.privateKey, "medbot");
    const failing = async () => {
      throw Object.assign(new Error("queryTxt ESERVFAIL"), { code: "ESERVFAIL" });
    };
    expect(await proveSender(mail, { ...options(BOB), resolver: failing })).toEqual({
      proven: false,
      temporary: true,
      reason: "the DKIM signature of example.test could not be checked (DNS failure: ESERVFAIL)",
    });
    const foreign = await signed(BOB, "evil.test", otherKey.privateKey, "s1");
    const dmarcDown = fakeResolver(signingDomainRecords("evil.test", "s1", otherKey.publicKeyBase64));
    const dmarcFailing = async (name: string, rrtype: string) => {
      if (name.startsWith("_dmarc.")) throw Object.assign(new Error("timeout"), { code: "ETIMEOUT" });
      return dmarcDown(name, rrtype);
    };
    expect(await proveSender(foreign, { ...options(BOB), resolver: dmarcFailing })).toMatchObject({
      proven: false,
      temporary: true,
    });
  });

  it("accepts the configured server's Authentication-Results when DKIM cannot be checked", async () => {
    const raw = `${ar("mail.example.test", PASS)}${SERVER_STAMP}From: ${BOB}\r\nSubject: x\r\n\r\nhi\r\n`;
    expect(await proveSender(raw, options(BOB, "mail.example.test"))).toEqual({
      proven: true,
      method: "authentication-results",
    });
    expect(await proveSender(raw, options(BOB))).toMatchObject({ proven: false });
  });
});
