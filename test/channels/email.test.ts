import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EmailAdapter, type EmailTiming, replySubject, trimQuotedReply } from "../../src/channels/email.js";
import { senderAuthenticated } from "../../src/channels/email-auth.js";
import type { InboundMessage, OutboundMessage } from "../../src/channels/types.js";
import {
  appendMail,
  bobAlias,
  emailConfig,
  flagsIn,
  freshMailbox,
  kickBot,
  mailsTo,
  markAllUnseen,
  rawMail,
  startMailServer,
} from "../support/mail.js";
import { adapterContract, type ContractHarness, recordingContext } from "./contract.js";

const BOB = "bob@example.test";
const PASS = "spf=pass smtp.mailfrom=bob@example.test";
const FAST = { pollIntervalMs: 200, backoffMs: 50 };

describe("email sender authentication", () => {
  it("accepts spf=pass or dkim=pass of the From domain in the topmost header only", () => {
    const header = (value: string) => `Authentication-Results: mx.example.test; ${value}\r\nFrom: x\r\n`;
    expect(senderAuthenticated(header(PASS), BOB)).toBe(true);
    expect(senderAuthenticated(header("dkim=pass header.d=example.test"), BOB)).toBe(true);
    expect(senderAuthenticated(header("spf=fail smtp.mailfrom=bob@example.test"), BOB)).toBe(false);
    expect(senderAuthenticated(header("spf=pass smtp.mailfrom=eve@attacker.test"), BOB)).toBe(false);
    expect(senderAuthenticated("From: x\r\n", BOB)).toBe(false);
    const forgedBelow = `${header("spf=fail smtp.mailfrom=bob@example.test")}Authentication-Results: x; ${PASS}\r\n`;
    expect(senderAuthenticated(forgedBelow, BOB)).toBe(false);
  });

  it("counts only headers of the configured authserv-id, the topmost of them, when authservId is set", () => {
    const header = (id: string, value: string) => `Authentication-Results: ${id}; ${value}\r\n`;
    const FAIL = "spf=fail smtp.mailfrom=bob@example.test";
    const forgedOnTop = `${header("evil.test", PASS)}${header("mx.example.test", FAIL)}From: x\r\n`;
    expect(senderAuthenticated(forgedOnTop, BOB)).toBe(true); // empty authservId: the topmost rule
    expect(senderAuthenticated(forgedOnTop, BOB, "mx.example.test")).toBe(false);
    const oursBelow = `${header("evil.test", FAIL)}${header("MX.example.test (Postfix) 1", PASS)}`;
    expect(senderAuthenticated(oursBelow, BOB, "mx.example.test")).toBe(true);
    expect(senderAuthenticated(oursBelow, BOB)).toBe(false);
    const folded = `Authentication-Results: mx.example.test;\r\n\tspf=pass\r\n smtp.mailfrom=bob@example.test\r\n`;
    expect(senderAuthenticated(folded, BOB, "mx.example.test")).toBe(true);
    expect(senderAuthenticated(header("evil.test", PASS), BOB, "mx.example.test")).toBe(false);
    expect(senderAuthenticated(header("mx.example.test.evil.test", PASS), BOB, "mx.example.test")).toBe(
      false,
    );
    const forgedBelowSameId = `${header("mx.example.test", FAIL)}${header("mx.example.test", PASS)}`;
    expect(senderAuthenticated(forgedBelowSameId, BOB, "mx.example.test")).toBe(false);
  });

  it("builds reply subjects without doubling the prefix and trims quoted history", () => {
    expect(replySubject("Blood pressure", "Re: ")).toBe("Re: Blood pressure");
    expect(replySubject("RE: Blood pressure", "Re: ")).toBe("RE: Blood pressure");
    expect(trimQuotedReply("128/82 today\n\nOn Mon, Bob wrote:\n> old")).toBe("128/82 today");
  });
});

const available = await startMailServer();
if (!available)
  console.warn("email tests skipped: dovecot/postfix cannot be installed here (needs root and apt-get)");

/** Waits for a mail server round trip: IMAP and Postfix's queue take longer than vi.waitFor's second. */
const ARRIVAL = { timeout: 15_000, interval: 100 };

/** The bot adapter whose send resolves once Postfix delivered the reply into Bob's inbox. */
class ArrivalAwaitingAdapter extends EmailAdapter {
  /** Texts of the replies that arrived at the harness's address, oldest first. */
  readonly arrived: string[] = [];

  override async send(message: OutboundMessage): Promise<void> {
    await super.send(message);
    // SMTP hands a reply to a queue; the contract reads sentTexts() right after send, so wait for the inbox.
    await vi.waitFor(async () => {
      const mails = await mailsTo(message.chatId);
      expect(mails.length).toBeGreaterThan(this.arrived.length);
      this.arrived.splice(0, this.arrived.length, ...mails.map((mail) => (mail.text ?? "").trim()));
    }, ARRIVAL);
  }
}

/** Bob (at an address of his own) writing to a fresh mailbox of the bot, read by the real adapter. */
async function emailHarness(): Promise<ContractHarness> {
  const mailbox = await freshMailbox();
  const bob = bobAlias();
  let receiveRequests = 0;
  const timing: EmailTiming = { ...FAST, onReceiveRequest: () => receiveRequests++ };
  const adapter = new ArrivalAwaitingAdapter(emailConfig(mailbox), timing);
  // The contract's steps are synchronous; the mailbox changes they ask for happen in the order asked.
  let pending: Promise<void> = Promise.resolve();
  const inOrder = (step: () => Promise<void>) => {
    pending = pending.then(step);
  };
  return {
    adapter,
    chatId: bob,
    userSays: (text) =>
      inOrder(() =>
        appendMail(
          mailbox,
          rawMail({ from: bob, subject: "note", text, authResults: `spf=pass smtp.mailfrom=${bob}` }),
        ),
      ),
    // Once the adapter acknowledged (seen) all it was handed, the server forgets that it did.
    repeatDelivered: () =>
      inOrder(async () => {
        await vi.waitFor(async () => {
          expect((await flagsIn(mailbox)).every((flags) => flags.includes("\\Seen"))).toBe(true);
        }, ARRIVAL);
        await markAllUnseen(mailbox);
      }),
    sentTexts: () => [...adapter.arrived],
    receiveRequests: () => receiveRequests,
    close: () => pending,
  };
}

describe.skipIf(!available)("email against Dovecot and Postfix", () => {
  adapterContract("email", emailHarness);
});

describe.skipIf(!available)("email adapter against Dovecot and Postfix", () => {
  let adapter: EmailAdapter | undefined;
  afterEach(async () => {
    await adapter?.stop();
    adapter = undefined;
  });

  it("refuses to start without consent, naming the key", async () => {
    const mailbox = await freshMailbox();
    adapter = new EmailAdapter(emailConfig(mailbox, { consentGranted: false }), FAST);
    await expect(adapter.start(recordingContext())).rejects.toThrow(/channels\.email\.consentGranted/);
  });

  it("delivers an authenticated allowed message once and marks it seen after delivery", async () => {
    const mailbox = await freshMailbox();
    const raw = rawMail({
      from: BOB,
      subject: "BP",
      text: "my blood pressure was 128/82",
      messageId: "<bp1@example.test>",
      authResults: PASS,
    });
    await appendMail(mailbox, raw);
    await appendMail(mailbox, raw);
    adapter = new EmailAdapter(emailConfig(mailbox), FAST);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    expect(adapter.state()).toBe("running");
    await vi.waitFor(() =>
      expect((async () => (await flagsIn(mailbox)).every((f) => f.includes("\\Seen")))()).resolves.toBe(true),
    );
    expect(ctx.delivered).toHaveLength(1);
    expect(ctx.delivered[0]).toMatchObject({
      channel: "email",
      chatId: BOB,
      senderId: BOB,
      messageId: "<bp1@example.test>",
      text: "my blood pressure was 128/82",
      replyContext: { subject: "BP" },
    });
  });

  it("leaves a refused or unauthenticated sender's message unseen and undelivered", async () => {
    const mailbox = await freshMailbox();
    await appendMail(
      mailbox,
      rawMail({
        from: "mallory@elsewhere.test",
        subject: "hi",
        text: "x",
        authResults: "spf=pass smtp.mailfrom=mallory@elsewhere.test",
      }),
    );
    await appendMail(mailbox, rawMail({ from: BOB, subject: "spoof", text: "y" }));
    adapter = new EmailAdapter(emailConfig(mailbox), FAST);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.asked).toHaveLength(1));
    await adapter.stop();
    expect(ctx.delivered).toHaveLength(0);
    expect(await flagsIn(mailbox)).toEqual([[], []]);
  });

  it("delivers an allowed sender's mail without Authentication-Results when requireAuthentication is false", async () => {
    const mailbox = await freshMailbox();
    await appendMail(mailbox, rawMail({ from: BOB, subject: "weight", text: "72.4 kg this morning" }));
    adapter = new EmailAdapter(emailConfig(mailbox, { requireAuthentication: false }), FAST);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.delivered).toHaveLength(1), ARRIVAL);
    expect(ctx.delivered[0]).toMatchObject({ senderId: BOB, text: "72.4 kg this morning" });
    await vi.waitFor(async () => expect(await flagsIn(mailbox)).toEqual([["\\Seen"]]), ARRIVAL);
  });

  it("with authservId set, trusts only that server's Authentication-Results", async () => {
    const mailbox = await freshMailbox();
    // rawMail's header names mail.example.test: trusted with that id, not with another.
    await appendMail(mailbox, rawMail({ from: BOB, subject: "pulse", text: "pulse 64", authResults: PASS }));
    let checks = 0;
    const counting = { ...FAST, onReceiveRequest: () => checks++ };
    adapter = new EmailAdapter(emailConfig(mailbox, { authservId: "mx.example.test" }), counting);
    const refusing = recordingContext();
    await adapter.start(refusing);
    await vi.waitFor(() => expect(checks).toBeGreaterThanOrEqual(4), ARRIVAL); // two rounds: search + headers
    await adapter.stop();
    expect(refusing.delivered).toHaveLength(0);
    expect(await flagsIn(mailbox)).toEqual([[]]);

    adapter = new EmailAdapter(emailConfig(mailbox, { authservId: "Mail.Example.Test" }), FAST);
    const trusting = recordingContext();
    await adapter.start(trusting);
    await vi.waitFor(() => expect(trusting.delivered).toHaveLength(1), ARRIVAL);
    expect(trusting.delivered[0]?.text).toBe("pulse 64");
  });

  it("replies over SMTP threaded under the mail it answers, and attaches a document byte for byte", async () => {
    const mailbox = await freshMailbox();
    const bob = bobAlias();
    const thread = [`<start-${bob}>`, `<answer-${bob}>`];
    const messageId = `<bp-${bob}>`;
    await appendMail(
      mailbox,
      rawMail({
        from: bob,
        subject: "Re: Blood pressure",
        text: "128/82 this morning",
        messageId,
        references: thread,
        authResults: `spf=pass smtp.mailfrom=${bob}`,
      }),
    );
    adapter = new EmailAdapter(emailConfig(mailbox), FAST);
    const ctx = recordingContext();
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.delivered).toHaveLength(1), ARRIVAL);
    const inbound = ctx.delivered[0] as InboundMessage;
    const reply = { channel: "email", account: inbound.account, chatId: inbound.chatId } as const;
    await adapter.send({ ...reply, text: "Recorded 128/82 for Bob.", replyContext: inbound.replyContext });
    const dir = mkdtempSync(join(tmpdir(), "medbot-email-"));
    const pdf = minimalPdf("Bob: blood pressure 128/82");
    writeFileSync(join(dir, "export.pdf"), pdf);
    await adapter.send({
      ...reply,
      text: "Your export is attached.",
      replyContext: inbound.replyContext,
      document: { path: join(dir, "export.pdf"), filename: "Bob blood pressure.pdf" },
    });

    const mails = await vi.waitFor(async () => {
      const arrived = await mailsTo(bob);
      expect(arrived).toHaveLength(2);
      return arrived;
    }, ARRIVAL);
    for (const mail of mails) {
      expect(mail.from?.value[0]?.address).toBe("alice@example.test");
      expect(mail.subject).toBe("Re: Blood pressure");
      expect(mail.inReplyTo).toBe(messageId);
      expect([mail.references ?? []].flat()).toEqual([...thread, messageId]);
    }
    const text = mails.find((mail) => mail.text?.includes("128/82"));
    expect(text?.text?.trim()).toBe("Recorded 128/82 for Bob.");
    expect(text?.attachments).toHaveLength(0);
    const withDocument = mails.find((mail) => mail.attachments.length > 0);
    expect(withDocument?.text?.trim()).toBe("Your export is attached.");
    expect(withDocument?.attachments).toHaveLength(1);
    const attachment = withDocument?.attachments[0];
    expect(attachment?.filename).toBe("Bob blood pressure.pdf");
    expect(attachment?.contentType).toBe("application/pdf");
    expect(attachment?.content.equals(pdf)).toBe(true);
  });

  it("reconnects on its own after the server drops the connection, then delivers new mail", async () => {
    const mailbox = await freshMailbox();
    adapter = new EmailAdapter(emailConfig(mailbox), FAST);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    const states: string[] = [];
    const sample = setInterval(() => {
      const state = adapter?.state() ?? "none";
      if (state !== states.at(-1)) states.push(state);
    }, 2);
    try {
      await kickBot();
      await vi.waitFor(() => expect(states.length).toBeGreaterThan(1), ARRIVAL);
      await vi.waitFor(() => expect(states.at(-1)).toBe("running"), ARRIVAL);
    } finally {
      clearInterval(sample);
    }
    expect(states[0]).toBe("running");
    expect(states.slice(1, -1).length).toBeGreaterThan(0);
    await appendMail(
      mailbox,
      rawMail({ from: BOB, subject: "later", text: "temperature 37.9", authResults: PASS }),
    );
    await vi.waitFor(
      () => expect(ctx.delivered.map((message) => message.text)).toEqual(["temperature 37.9"]),
      ARRIVAL,
    );
  });
});

/** A one-page PDF showing `text`, with a correct cross-reference table: small, but a real PDF. */
function minimalPdf(text: string): Buffer {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    "",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  const stream = `BT /F1 12 Tf 72 770 Td (${text}) Tj ET`;
  objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(body.length);
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, "0")} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, "latin1");
}
